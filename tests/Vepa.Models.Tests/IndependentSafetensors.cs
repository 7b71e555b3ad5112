using System.Buffers.Binary;
using System.Text.Json;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// A safetensors reader written for the tests from the format's specification, independent of Vepa's reader: it checks the
/// layout strictly (header length, 8-byte alignment, contiguous non-overlapping data offsets covering the data section) and
/// returns float64 copies of the tensors.
/// </summary>
internal static class IndependentSafetensors
{
    internal static Dictionary<string, Tensor> Read(string path)
    {
        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(bytes);
        if (headerLength % 8 != 0)
        {
            throw new InvalidDataException($"{path}: header length {headerLength} is not a multiple of 8.");
        }

        using var doc = JsonDocument.Parse(bytes.AsMemory(8, (int)headerLength));
        int dataStart = 8 + (int)headerLength;
        var result = new Dictionary<string, Tensor>();
        var ranges = new List<(long Begin, long End)>();
        foreach (var property in doc.RootElement.EnumerateObject())
        {
            if (property.Name == "__metadata__")
            {
                continue;
            }

            string dtype = property.Value.GetProperty("dtype").GetString()!;
            long[] shape = property.Value.GetProperty("shape").EnumerateArray().Select(e => e.GetInt64()).ToArray();
            long begin = property.Value.GetProperty("data_offsets")[0].GetInt64();
            long end = property.Value.GetProperty("data_offsets")[1].GetInt64();
            ranges.Add((begin, end));
            long count = shape.Aggregate(1L, (a, b) => a * b);
            var span = bytes.AsSpan(dataStart + (int)begin, (int)(end - begin));
            var values = new double[count];
            for (int i = 0; i < count; i++)
            {
                values[i] = dtype switch
                {
                    "F64" => BinaryPrimitives.ReadDoubleLittleEndian(span[(8 * i)..]),
                    "F32" => BinaryPrimitives.ReadSingleLittleEndian(span[(4 * i)..]),
                    "F16" => (double)BinaryPrimitives.ReadHalfLittleEndian(span[(2 * i)..]),
                    "BF16" => BitConverter.Int32BitsToSingle(BinaryPrimitives.ReadUInt16LittleEndian(span[(2 * i)..]) << 16),
                    "I64" => BinaryPrimitives.ReadInt64LittleEndian(span[(8 * i)..]),
                    _ => throw new InvalidDataException($"{path}: dtype {dtype} not handled by the test reader."),
                };
            }

            if (values.Length * (dtype switch { "F64" or "I64" => 8, "F32" => 4, _ => 2 }) != end - begin)
            {
                throw new InvalidDataException($"{path}: tensor {property.Name} byte count mismatch.");
            }

            result[property.Name] = tensor(values, shape, ScalarType.Float64);
        }

        long expected = 0;
        foreach (var (begin, end) in ranges.OrderBy(r => r.Begin))
        {
            if (begin != expected)
            {
                throw new InvalidDataException($"{path}: data offsets are not contiguous at {begin} (expected {expected}).");
            }

            expected = end;
        }

        if (dataStart + expected != bytes.Length)
        {
            throw new InvalidDataException($"{path}: data section is {bytes.Length - dataStart} bytes but the tensors cover {expected}.");
        }

        return result;
    }
}
