Console.WriteLine("Vepa kernel demo: filled in once the kernels land.");
