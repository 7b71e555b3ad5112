using System.Reflection;

namespace Vepa.Consumer;

/// <summary>Where build/consumer-check.sh packed the packages, their version, and the repository (baked in at build time).</summary>
internal static class ConsumerEnvironment
{
    public static string PackageFeed => Metadata("VepaPackageFeed");

    public static string PackageVersion => Metadata("VepaPackageVersion");

    public static string RepositoryRoot => Metadata("VepaRepositoryRoot");

    private static string Metadata(string key) =>
        typeof(ConsumerEnvironment).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().SingleOrDefault(a => a.Key == key)?.Value
        ?? throw new InvalidOperationException($"The assembly has no metadata '{key}'.");
}
