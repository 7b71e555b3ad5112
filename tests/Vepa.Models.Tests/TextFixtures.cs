using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>The tiny snapshot folders written by tools/qwen-fixtures/make_text_fixtures.py, and their expected tensors.</summary>
internal static class TextFixtures
{
    internal static readonly string[] Names = ["qwen2-untied", "qwen2-tied-sharded", "qwen3-untied", "qwen3-bf16-tied"];

    internal static string Folder(string name) => Path.Combine(AppContext.BaseDirectory, "Fixtures", name);

    /// <summary>Input ids, attention masks and reference logits (float64 copies), by key such as <c>left.logits.f64</c>.</summary>
    internal static Dictionary<string, Tensor> Expected(string name) =>
        IndependentSafetensors.Read(Path.Combine(AppContext.BaseDirectory, "Fixtures", name + ".expected.safetensors"));

    /// <summary>max |actual − expected| over real (mask = 1) positions, divided by max |expected| there.</summary>
    internal static double MaxRelativeError(Tensor actual, Tensor expected, Tensor mask)
    {
        using var scope = NewDisposeScope();
        var keep = mask.to(ScalarType.Float64).unsqueeze(-1);
        var diff = ((actual.to(ScalarType.Float64) - expected.to(ScalarType.Float64)) * keep).abs().max().item<double>();
        var scale = (expected.to(ScalarType.Float64) * keep).abs().max().item<double>();
        return diff / scale;
    }

    internal static string CopyToTemp(string name)
    {
        string target = Path.Combine(Path.GetTempPath(), "vepa-models-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(target);
        foreach (string file in Directory.EnumerateFiles(Folder(name)))
        {
            File.Copy(file, Path.Combine(target, Path.GetFileName(file)));
        }

        return target;
    }
}
