using System.IO.Compression;
using System.Text.Json;

namespace Vepa.Models.Tests;

/// <summary>The committed tokenizer fixtures: the real Qwen tokenizer (decompressed once to a temp folder) and the expected ids.</summary>
internal static class TokenizerFixtures
{
    private static readonly Lazy<string> RealFolderLazy = new(DecompressRealTokenizer);
    private static readonly Lazy<QwenTokenizer> RealLazy = new(() => QwenTokenizer.FromPretrained(RealFolder));
    private static readonly Lazy<IReadOnlyList<ExpectedCase>> CasesLazy = new(() => LoadCases("expected-ids.json"));
    private static readonly Lazy<IReadOnlyList<ExpectedCase>> TinyCasesLazy = new(() => LoadCases("tiny-expected-ids.json"));

    /// <summary>Gets the fixture root (copied next to the test assembly).</summary>
    public static string Root => Path.Combine(AppContext.BaseDirectory, "Fixtures");

    /// <summary>Gets the tiny tokenizer's folder.</summary>
    public static string TinyFolder => Path.Combine(Root, "tiny-tokenizer");

    /// <summary>Gets a folder holding the real Qwen3 tokenizer.json and tokenizer_config.json.</summary>
    public static string RealFolder => RealFolderLazy.Value;

    /// <summary>Gets the real Qwen tokenizer, loaded once.</summary>
    public static QwenTokenizer Real => RealLazy.Value;

    /// <summary>Gets the corpus with ids from @lenml/tokenizers.</summary>
    public static IReadOnlyList<ExpectedCase> Cases => CasesLazy.Value;

    /// <summary>Gets a quarter of the corpus with ids of the tiny tokenizer from @lenml/tokenizers.</summary>
    public static IReadOnlyList<ExpectedCase> TinyCases => TinyCasesLazy.Value;

    /// <summary>Makes a fresh temp folder holding copies of the given files, for tests that edit a snapshot.</summary>
    public static string CopyToTemp(string folder, params string[] files)
    {
        string target = Path.Combine(Path.GetTempPath(), "vepa-tok-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(target);
        foreach (string file in files)
        {
            File.Copy(Path.Combine(folder, file), Path.Combine(target, file));
        }

        return target;
    }

    private static string DecompressRealTokenizer()
    {
        string source = Path.Combine(Root, "tokenizer");
        string target = Path.Combine(Path.GetTempPath(), "vepa-qwen-tokenizer-" + Environment.ProcessId);
        Directory.CreateDirectory(target);
        using (var input = new GZipStream(File.OpenRead(Path.Combine(source, "qwen-tokenizer.json.gz")), CompressionMode.Decompress))
        using (var output = File.Create(Path.Combine(target, "tokenizer.json")))
        {
            input.CopyTo(output);
        }

        File.Copy(Path.Combine(source, "qwen-tokenizer_config.json"), Path.Combine(target, "tokenizer_config.json"), overwrite: true);
        return target;
    }

    private static List<ExpectedCase> LoadCases(string file)
    {
        using var stream = File.OpenRead(Path.Combine(Root, "tokenizer", file));
        using var document = JsonDocument.Parse(stream);
        return document.RootElement.GetProperty("cases").EnumerateArray().Select(c => new ExpectedCase(
            c.GetProperty("text").GetString()!,
            c.GetProperty("ids").EnumerateArray().Select(e => e.GetInt64()).ToArray(),
            c.GetProperty("decoded").GetString()!,
            c.GetProperty("splitIds").EnumerateArray().Select(e => e.GetInt64()).ToArray())).ToList();
    }

    /// <summary>One corpus string and what the reference tokenizer made of it.</summary>
    internal sealed record ExpectedCase(string Text, long[] Ids, string Decoded, long[] SplitIds);
}
