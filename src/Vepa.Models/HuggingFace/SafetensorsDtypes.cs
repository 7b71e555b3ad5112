using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>The safetensors dtype strings Vepa reads and writes, and their TorchSharp types and element sizes.</summary>
internal static class SafetensorsDtypes
{
    private static readonly Dictionary<string, (ScalarType Type, int Size)> ByName = new(StringComparer.Ordinal)
    {
        ["F64"] = (ScalarType.Float64, 8),
        ["F32"] = (ScalarType.Float32, 4),
        ["F16"] = (ScalarType.Float16, 2),
        ["BF16"] = (ScalarType.BFloat16, 2),
        ["I64"] = (ScalarType.Int64, 8),
        ["I32"] = (ScalarType.Int32, 4),
        ["I16"] = (ScalarType.Int16, 2),
        ["I8"] = (ScalarType.Int8, 1),
        ["U8"] = (ScalarType.Byte, 1),
        ["BOOL"] = (ScalarType.Bool, 1),
    };

    /// <summary>Gets the supported dtype names, for error messages.</summary>
    internal static string Supported => string.Join(", ", ByName.Keys);

    /// <summary>Looks a safetensors dtype up.</summary>
    internal static bool TryGet(string name, out ScalarType type, out int elementSize)
    {
        if (ByName.TryGetValue(name, out var entry))
        {
            (type, elementSize) = entry;
            return true;
        }

        (type, elementSize) = (default, 0);
        return false;
    }

    /// <summary>The safetensors name of a TorchSharp dtype.</summary>
    /// <exception cref="ArgumentException">The dtype has no safetensors name here.</exception>
    internal static (string Name, int Size) NameOf(ScalarType type, string tensorName)
    {
        foreach (var (name, entry) in ByName)
        {
            if (entry.Type == type)
            {
                return (name, entry.Size);
            }
        }

        throw new ArgumentException($"Tensor '{tensorName}' has dtype {type}, which safetensors cannot store here (supported: {Supported}).", nameof(type));
    }

    /// <summary>The dtype name a Hugging Face config uses (<c>torch_dtype</c>) for a TorchSharp dtype.</summary>
    internal static string ConfigName(ScalarType type) => type switch
    {
        ScalarType.BFloat16 => "bfloat16",
        ScalarType.Float16 => "float16",
        ScalarType.Float64 => "float64",
        _ => "float32",
    };
}
