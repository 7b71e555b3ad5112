using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>Visits the raw bytes of a contiguous CPU tensor in chunks below 2 GiB (a <see cref="Span{T}"/> holds at most that much).</summary>
internal static class TensorBytes
{
    private const long ChunkBytes = 1L << 30;

    /// <summary>A visitor of one chunk of bytes starting at <paramref name="byteOffset"/> in the tensor.</summary>
    internal delegate void ChunkVisitor(Span<byte> chunk, long byteOffset);

    /// <summary>Calls <paramref name="visit"/> on successive chunks covering all of <paramref name="tensor"/>'s bytes.</summary>
    /// <param name="tensor">A contiguous CPU tensor.</param>
    /// <param name="visit">The visitor; the span may be read and written.</param>
    internal static void Visit(Tensor tensor, ChunkVisitor visit)
    {
        using var scope = NewDisposeScope();
        long elementSize = tensor.ElementSize;
        var flat = tensor.view(-1);
        long count = flat.shape[0];
        long perChunk = Math.Max(1, ChunkBytes / elementSize);
        for (long start = 0; start < count; start += perChunk)
        {
            long n = Math.Min(perChunk, count - start);
            using var part = flat.narrow(0, start, n);
            visit(part.bytes, start * elementSize);
        }
    }
}
