using System.Text.RegularExpressions;

namespace Vepa.Consumer;

/// <summary>
/// Every C# snippet in the user documentation and the package READMEs is compiled: it is marked
/// <c>&lt;!-- snippet: name --&gt;</c> and must equal, line for line, the region <c>#region snippet:name</c> of a source
/// file in this project, which builds against the packed packages.
/// </summary>
public sealed partial class DocsSnippetTests
{
    private static readonly string[] Pages =
    [
        "docs/getting-started.md", "docs/concepts.md", "docs/custom-rewards.md", "docs/own-policy.md",
        "docs/configuration.md", "docs/performance.md", "docs/troubleshooting.md", "docs/migrating.md",
        "src/Vepa.Core/README.md", "src/Vepa.Rewards/README.md", "src/Vepa.Grpo/README.md", "src/Vepa.Testing/README.md",
    ];

    public static TheoryData<string> PageNames => new(Pages);

    [Theory]
    [MemberData(nameof(PageNames))]
    public void Every_csharp_snippet_of_the_page_is_compiled_code(string page)
    {
        string text = File.ReadAllText(Path.Combine(ConsumerEnvironment.RepositoryRoot, page)).ReplaceLineEndings("\n");
        Dictionary<string, string> regions = Regions();

        int fences = CSharpFence().Count(text);
        MatchCollection snippets = MarkedSnippet().Matches(text);
        snippets.Count.Should().Be(fences, $"every ```csharp block in {page} must be marked <!-- snippet: name --> and come from compiled code");
        foreach (Match snippet in snippets)
        {
            string name = snippet.Groups["name"].Value;
            regions.Should().ContainKey(name, $"{page} shows snippet '{name}'");
            Normalise(snippet.Groups["code"].Value).Should().Be(regions[name], $"{page}: snippet '{name}' must match its region in tests/Consumer");
        }
    }

    private static Dictionary<string, string> Regions()
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        string project = Path.Combine(ConsumerEnvironment.RepositoryRoot, "tests", "Consumer");
        foreach (string file in Directory.EnumerateFiles(project, "*.cs", SearchOption.AllDirectories)
                     .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                              && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)))
        {
            foreach (Match region in Region().Matches(File.ReadAllText(file).ReplaceLineEndings("\n")))
            {
                regions.Add(region.Groups["name"].Value, Normalise(region.Groups["code"].Value));
            }
        }

        return regions;
    }

    // Drops the common indentation and trailing spaces, so a region inside a class can be shown flush left.
    private static string Normalise(string code)
    {
        string[] lines = code.Trim('\n').Split('\n').Select(l => l.TrimEnd()).ToArray();
        int indent = lines.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', lines.Select(l => l.Length >= indent ? l[indent..] : l));
    }

    [GeneratedRegex(@"^```csharp\n", RegexOptions.Multiline)]
    private static partial Regex CSharpFence();

    [GeneratedRegex(@"<!-- snippet: (?<name>[\w-]+) -->\n```csharp\n(?<code>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex MarkedSnippet();

    [GeneratedRegex(@"^[ \t]*#region snippet:(?<name>[\w-]+)[ \t]*\n(?<code>.*?)\n[ \t]*#endregion", RegexOptions.Singleline | RegexOptions.Multiline)]
    private static partial Regex Region();
}
