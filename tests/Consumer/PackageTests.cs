using System.IO.Compression;
using System.Reflection.Metadata;
using System.Reflection.Metadata.Ecma335;
using System.Xml.Linq;

namespace Vepa.Consumer;

/// <summary>What the packed packages hold: README, licence, XML docs, symbols with CI-normalised paths, dependencies, the load fix.</summary>
public sealed class PackageTests
{
    public static TheoryData<string> PackageIds => new() { "Vepa.Core", "Vepa.Rewards", "Vepa.Grpo", "Vepa.Models", "Vepa.Engines", "Vepa.Testing" };

    [Theory]
    [MemberData(nameof(PackageIds))]
    public void Package_has_readme_licence_docs_and_no_native_or_build_tool_dependency(string id)
    {
        using ZipArchive package = Open(id, "nupkg");
        XElement metadata = Nuspec(package, id);
        XNamespace ns = metadata.Name.Namespace;

        metadata.Element(ns + "version")!.Value.Should().Be(ConsumerEnvironment.PackageVersion);
        metadata.Element(ns + "readme")!.Value.Should().Be("README.md");
        metadata.Element(ns + "license")!.Attribute("type")!.Value.Should().Be("expression");
        metadata.Element(ns + "license")!.Value.Should().Be("MIT");
        metadata.Element(ns + "description")!.Value.Should().NotBeNullOrWhiteSpace();
        package.GetEntry("README.md").Should().NotBeNull();
        package.GetEntry($"lib/net10.0/{id}.dll").Should().NotBeNull();
        package.GetEntry($"lib/net10.0/{id}.xml").Should().NotBeNull("every public member is documented and the docs ship");

        string[] dependencies = metadata.Descendants(ns + "dependency").Select(d => (string)d.Attribute("id")!).ToArray();
        dependencies.Should().NotContain(d => d.StartsWith("TorchSharp-", StringComparison.OrdinalIgnoreCase) || d.StartsWith("libtorch", StringComparison.OrdinalIgnoreCase),
            "the application chooses the native backend");
        dependencies.Should().NotContain(["Microsoft.CodeAnalysis.PublicApiAnalyzers", "Microsoft.SourceLink.GitHub"]);
        foreach (XElement vepa in metadata.Descendants(ns + "dependency").Where(d => ((string)d.Attribute("id")!).StartsWith("Vepa.", StringComparison.Ordinal)))
        {
            ((string)vepa.Attribute("version")!).Should().Be(ConsumerEnvironment.PackageVersion, "all Vepa packages share one version");
        }
    }

    [Theory]
    [MemberData(nameof(PackageIds))]
    public void Symbol_package_has_a_portable_pdb_with_ci_normalised_paths(string id)
    {
        using ZipArchive symbols = Open(id, "snupkg");
        ZipArchiveEntry pdbEntry = symbols.GetEntry($"lib/net10.0/{id}.pdb") ?? throw new InvalidOperationException($"{id}.snupkg has no PDB.");
        using var pdbStream = new MemoryStream();
        using (Stream stream = pdbEntry.Open())
        {
            stream.CopyTo(pdbStream);
        }

        pdbStream.Position = 0;
        using MetadataReaderProvider provider = MetadataReaderProvider.FromPortablePdbStream(pdbStream);
        MetadataReader pdb = provider.GetMetadataReader();
        string[] documents = pdb.Documents.Select(d => pdb.GetString(pdb.GetDocument(d).Name)).ToArray();

        documents.Should().NotBeEmpty();
        documents.Should().OnlyContain(path => path.StartsWith("/_/", StringComparison.Ordinal),
            "packages are built with ContinuousIntegrationBuild, which maps the source root to /_/");
    }

    [Fact]
    public void Vepa_Core_ships_the_TorchSharp_load_fix_as_buildTransitive_targets()
    {
        using ZipArchive package = Open("Vepa.Core", "nupkg");
        ZipArchiveEntry targets = package.GetEntry("buildTransitive/Vepa.Core.targets") ?? throw new InvalidOperationException("No buildTransitive/Vepa.Core.targets in Vepa.Core.");
        using var reader = new StreamReader(targets.Open());
        XDocument project = XDocument.Parse(reader.ReadToEnd());

        XElement target = project.Root!.Elements("Target").Single(t => (string?)t.Attribute("Name") == "VepaPatchTorchSharpNative");
        ((string)target.Attribute("AfterTargets")!).Should().Contain("Build").And.Contain("Publish");
        ((string)target.Attribute("Condition")!).Should().Contain("VepaTorchSharpNativeFix", "an app can opt out");
    }

    [Fact]
    public void This_app_loads_TorchSharp_through_the_packaged_fix_alone()
    {
        // This project imports none of the repository's build files, so the only fix it can get is the package's.
        string native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (OperatingSystem.IsLinux())
        {
            File.Exists(native).Should().BeTrue();
        }

        using var scope = TorchSharp.torch.NewDisposeScope();
        TorchSharp.torch.ones(2, 2).sum().item<float>().Should().Be(4f);
    }

    private static ZipArchive Open(string id, string extension)
    {
        string path = Path.Combine(ConsumerEnvironment.PackageFeed, $"{id}.{ConsumerEnvironment.PackageVersion}.{extension}");
        File.Exists(path).Should().BeTrue($"{path} was packed");
        return ZipFile.OpenRead(path);
    }

    private static XElement Nuspec(ZipArchive package, string id)
    {
        ZipArchiveEntry entry = package.GetEntry($"{id}.nuspec") ?? throw new InvalidOperationException($"{id} has no nuspec.");
        using Stream stream = entry.Open();
        XDocument nuspec = XDocument.Load(stream);
        return nuspec.Root!.Elements().Single(e => e.Name.LocalName == "metadata");
    }
}
