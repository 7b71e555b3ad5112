using System.Buffers.Binary;
using System.Text.Json;
using Microsoft.Win32.SafeHandles;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>One tensor's entry in a safetensors header: dtype, shape and byte range in the data section.</summary>
internal sealed record SafetensorsEntry(string Name, string Dtype, ScalarType Type, long[] Shape, long Begin, long End);

/// <summary>
/// The parsed header of a safetensors file (8-byte little-endian header length, a UTF-8 JSON header, then the raw data), with every
/// entry checked against the file's size before any data is read.
/// </summary>
internal sealed class SafetensorsFile
{
    /// <summary>The largest staging buffer of a converting read, in bytes.</summary>
    internal const long StagingBytes = 64L * 1024 * 1024;

    private const long MaxHeaderBytes = 100L * 1024 * 1024;

    private SafetensorsFile(string path, long dataStart, Dictionary<string, SafetensorsEntry> entries)
    {
        Path = path;
        DataStart = dataStart;
        Entries = entries;
    }

    /// <summary>Gets the file's path.</summary>
    internal string Path { get; }

    /// <summary>Gets the offset of the data section (8 + header length).</summary>
    internal long DataStart { get; }

    /// <summary>Gets the tensors by name.</summary>
    internal IReadOnlyDictionary<string, SafetensorsEntry> Entries { get; }

    /// <summary>Reads and validates a file's header.</summary>
    /// <exception cref="SnapshotFormatException">The file is missing, truncated, not safetensors, or an entry is invalid (names the file and tensor).</exception>
    internal static SafetensorsFile Open(string path)
    {
        if (!File.Exists(path))
        {
            throw new SnapshotFormatException($"Safetensors file '{path}' does not exist.", path, null);
        }

        using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.None);
        long fileLength = stream.Length;
        Span<byte> lengthBytes = stackalloc byte[8];
        if (fileLength < 8 || stream.Read(lengthBytes) != 8)
        {
            throw new SnapshotFormatException($"Safetensors file '{path}' is truncated: {fileLength} bytes, shorter than the 8-byte header length.", path, null);
        }

        long headerLength = BinaryPrimitives.ReadInt64LittleEndian(lengthBytes);
        if (headerLength < 2 || headerLength > MaxHeaderBytes || 8 + headerLength > fileLength)
        {
            throw new SnapshotFormatException(
                $"Safetensors file '{path}' declares a {headerLength}-byte header but the file has {fileLength} bytes (truncated or not a safetensors file).", path, null);
        }

        var header = new byte[headerLength];
        stream.ReadExactly(header);
        long dataStart = 8 + headerLength;
        long dataLength = fileLength - dataStart;

        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(header);
        }
        catch (JsonException e)
        {
            throw new SnapshotFormatException($"Safetensors file '{path}' has a header that is not valid JSON: {e.Message}", path, null, e);
        }

        using (doc)
        {
            if (doc.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new SnapshotFormatException($"Safetensors file '{path}' has a header that is not a JSON object.", path, null);
            }

            var entries = new Dictionary<string, SafetensorsEntry>(StringComparer.Ordinal);
            foreach (var property in doc.RootElement.EnumerateObject())
            {
                if (property.Name == "__metadata__")
                {
                    continue;
                }

                entries[property.Name] = ParseEntry(path, property.Name, property.Value, dataLength);
            }

            return new SafetensorsFile(path, dataStart, entries);
        }
    }

    /// <summary>Copies a tensor's bytes from the file into <paramref name="target"/> (converting dtype and device), one tensor at a time.</summary>
    /// <remarks>
    /// When the target is a contiguous CPU tensor of the file's dtype the bytes go straight into its storage. Otherwise they pass
    /// through a CPU staging buffer of at most <see cref="StagingBytes"/> (64 MiB), chunk by chunk into the target's slice, so host
    /// memory beyond the targets stays bounded by that buffer whatever the tensor's size.
    /// </remarks>
    internal void ReadInto(SafeFileHandle handle, SafetensorsEntry entry, Tensor target)
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        if (target.device_type == DeviceType.CPU && target.dtype == entry.Type && target.is_contiguous())
        {
            ReadRange(handle, entry, target, 0);
            return;
        }

        if (!target.is_contiguous())
        {
            var whole = empty(entry.Shape, entry.Type, CPU);
            ReadRange(handle, entry, whole, 0);
            target.copy_(whole);
            return;
        }

        SafetensorsDtypes.TryGet(entry.Dtype, out _, out int elementSize);
        long count = (entry.End - entry.Begin) / elementSize;
        long perChunk = Math.Max(1, StagingBytes / elementSize);
        var flatTarget = target.view(-1);
        using var staging = empty(Math.Min(perChunk, Math.Max(count, 1)), entry.Type, CPU);
        for (long start = 0; start < count; start += perChunk)
        {
            long n = Math.Min(perChunk, count - start);
            using var slice = staging.narrow(0, 0, n);
            ReadRange(handle, entry, slice, start * elementSize);
            using var destination = flatTarget.narrow(0, start, n);
            destination.copy_(slice);
        }
    }

    /// <summary>Fills the contiguous CPU tensor <paramref name="buffer"/> with the entry's bytes starting <paramref name="byteOffset"/> into the entry.</summary>
    private void ReadRange(SafeFileHandle handle, SafetensorsEntry entry, Tensor buffer, long byteOffset)
    {
        long fileOffset = DataStart + entry.Begin + byteOffset;
        string path = Path;
        TensorBytes.Visit(buffer, (chunk, offset) =>
        {
            int done = 0;
            while (done < chunk.Length)
            {
                int read = RandomAccess.Read(handle, chunk[done..], fileOffset + offset + done);
                if (read <= 0)
                {
                    throw new SnapshotFormatException(
                        $"Safetensors file '{path}' ended while reading tensor '{entry.Name}' (at byte {fileOffset + offset + done} of the file).", path, entry.Name);
                }

                done += read;
            }
        });
    }

    private static SafetensorsEntry ParseEntry(string path, string name, JsonElement value, long dataLength)
    {
        SnapshotFormatException Bad(string what) => new($"Safetensors file '{path}', tensor '{name}': {what}", path, name);

        if (value.ValueKind != JsonValueKind.Object
            || !value.TryGetProperty("dtype", out var dtypeElement) || dtypeElement.ValueKind != JsonValueKind.String
            || !value.TryGetProperty("shape", out var shapeElement) || shapeElement.ValueKind != JsonValueKind.Array
            || !value.TryGetProperty("data_offsets", out var offsetsElement) || offsetsElement.ValueKind != JsonValueKind.Array
            || offsetsElement.GetArrayLength() != 2)
        {
            throw Bad("the header entry needs \"dtype\" (string), \"shape\" (array) and \"data_offsets\" ([begin, end]).");
        }

        string dtype = dtypeElement.GetString()!;
        if (!SafetensorsDtypes.TryGet(dtype, out var type, out int elementSize))
        {
            throw Bad($"unsupported dtype '{dtype}' (supported: {SafetensorsDtypes.Supported}).");
        }

        var shape = new long[shapeElement.GetArrayLength()];
        int i = 0;
        foreach (var dim in shapeElement.EnumerateArray())
        {
            if (dim.ValueKind != JsonValueKind.Number || !dim.TryGetInt64(out shape[i]) || shape[i] < 0)
            {
                throw Bad($"shape {shapeElement.GetRawText()} must hold non-negative integers.");
            }

            i++;
        }

        long begin = offsetsElement[0].TryGetInt64(out long b) ? b : -1;
        long end = offsetsElement[1].TryGetInt64(out long e) ? e : -1;
        if (begin < 0 || end < begin)
        {
            throw Bad($"data_offsets {offsetsElement.GetRawText()} must be non-negative with begin <= end.");
        }

        long elements = 1;
        foreach (long dim in shape)
        {
            elements = checked(elements * dim);
        }

        if (checked(elements * elementSize) != end - begin)
        {
            throw Bad($"shape [{string.Join(", ", shape)}] of {dtype} needs {elements * elementSize} bytes but data_offsets {offsetsElement.GetRawText()} span {end - begin}.");
        }

        if (end > dataLength)
        {
            throw Bad($"data_offsets {offsetsElement.GetRawText()} run past the end of the data section ({dataLength} bytes): the file is truncated.");
        }

        return new SafetensorsEntry(name, dtype, type, shape, begin, end);
    }
}
