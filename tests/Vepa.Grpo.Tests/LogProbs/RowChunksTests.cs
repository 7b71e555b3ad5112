using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class RowChunksTests
{
    [Theory]
    [InlineData(null, 100_000, 32768, DeviceType.CPU, false, 64)]      // 8 MiB / (4 · 32768)
    [InlineData(null, 100_000, 152064, DeviceType.CPU, false, 13)]     // 8388608 / 608256 = 13.8
    [InlineData(null, 100_000, 32768, DeviceType.CUDA, false, 512)]    // 64 MiB / (4 · 32768)
    [InlineData(null, 100_000, 32768, DeviceType.CPU, true, 512)]      // fused: 64 MiB on every device
    [InlineData(null, 100_000, 152064, DeviceType.CUDA, true, 256)]    // fused: at least 256 rows (64 MiB gives 110)
    [InlineData(null, 40, 32768, DeviceType.CPU, false, 40)]           // never more than the rows
    [InlineData(null, 0, 32768, DeviceType.CPU, false, 1)]             // no rows: still a valid chunk size
    [InlineData(null, 100_000, 100_000_000, DeviceType.CPU, false, 1)] // huge V: one row
    [InlineData(7, 100, 32768, DeviceType.CPU, false, 7)]              // the caller's choice
    [InlineData(500, 100, 32768, DeviceType.CPU, true, 100)]
    public void Chunk_rows_follow_the_documented_defaults(int? requested, long rows, long vocabulary, DeviceType device, bool fused, long expected)
        => RowChunks.ChunkRows(requested, rows, vocabulary, device, fused).Should().Be(expected);

    [Fact]
    public void Chunks_of_flat_rows_cover_every_row_once_and_cross_sequences()
        => RowChunks.Plan(2, 3, 4, flat: true).Should().Equal((0L, 4L), (4L, 2L));

    [Fact]
    public void Chunks_of_non_flat_rows_stay_inside_one_sequence()
        => RowChunks.Plan(2, 5, 3, flat: false).Should().Equal((0L, 3L), (3L, 2L), (5L, 3L), (8L, 2L));

    [Fact]
    public void A_slice_along_T_is_not_flat_and_a_contiguous_tensor_is()
    {
        using var scope = NewDisposeScope();
        var full = zeros(3, 6, 4);
        RowChunks.RowsAreFlat(full).Should().BeTrue();
        RowChunks.RowsAreFlat(full.narrow(1, 0, 5)).Should().BeFalse();
        RowChunks.RowsAreFlat(full.narrow(0, 0, 1).narrow(1, 0, 5)).Should().BeTrue();
        RowChunks.RowsAreFlat(full.narrow(1, 0, 1)).Should().BeTrue();
    }
}
