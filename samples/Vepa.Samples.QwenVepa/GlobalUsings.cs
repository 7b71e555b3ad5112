global using System.Globalization;
global using Vepa;
