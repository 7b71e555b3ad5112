using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Reads the Qwen2-VL fixtures written by tools/qwen-fixtures/make_vl_fixtures.py (a plain safetensors reader, independent of the code under test).</summary>
internal static class VisionFixtures
{
    internal static readonly string Root = Path.Combine(AppContext.BaseDirectory, "Fixtures");

    internal static string Images => Path.Combine(Root, "images");

    internal static string Processor => Path.Combine(Root, "qwen2-vl-processor");

    internal static string TinySnapshot => Path.Combine(Root, "qwen2-vl-tiny");

    internal static string Expected => Path.Combine(Root, "qwen2-vl-expected", "expected.safetensors");

    /// <summary>The processor fixture's images, in the order the script made them (image_order indexes into this).</summary>
    internal static readonly string[] ImageNames = ["img_50x37", "img_200x90", "img_28x28", "img_12x11", "img_150x110", "img_84x56", "img_420x60"];

    /// <summary>Loads every tensor of a safetensors file onto the CPU (callers dispose them, or open a dispose scope).</summary>
    internal static Dictionary<string, Tensor> Load(string path)
    {
        var bytes = File.ReadAllBytes(path);
        long headerLength = BitConverter.ToInt64(bytes, 0);
        using var header = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        var result = new Dictionary<string, Tensor>();
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                continue;
            }

            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            var data = bytes.AsSpan((int)(8 + headerLength + offsets[0]), (int)(offsets[1] - offsets[0]));
            var type = entry.Value.GetProperty("dtype").GetString() switch
            {
                "F32" => ScalarType.Float32,
                "F64" => ScalarType.Float64,
                "I64" => ScalarType.Int64,
                "I32" => ScalarType.Int32,
                "U8" => ScalarType.Byte,
                var d => throw new NotSupportedException(d),
            };
            var t = empty(shape, type);
            data.CopyTo(t.bytes);
            result[entry.Name] = t.DetachFromDisposeScope();
        }

        return result;
    }

    /// <summary>Max |a − b| / max(1, max |b|): the relative error used for the logits targets.</summary>
    internal static double RelativeError(Tensor actual, Tensor expected)
    {
        using var scope = NewDisposeScope();
        var a = actual.to(ScalarType.Float64);
        var e = expected.to(ScalarType.Float64);
        return (a - e).abs().max().item<double>() / Math.Max(1.0, e.abs().max().item<double>());
    }
}
