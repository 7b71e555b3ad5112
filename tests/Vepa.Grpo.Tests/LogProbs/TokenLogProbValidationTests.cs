using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.LogProbs;

public sealed class TokenLogProbValidationTests
{
    private static readonly Device Meta = new("meta");

    [Fact]
    public void Null_inputs_are_rejected_with_their_names()
    {
        using var scope = NewDisposeScope();
        var logits = zeros(2, 3, 5);
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        var weight = zeros(5, 4);

        Invoking(() => TokenLogProbs.FromLogits(null!, targets)).Should().Throw<ArgumentNullException>().WithParameterName("logits");
        Invoking(() => TokenLogProbs.FromLogits(logits, null!)).Should().Throw<ArgumentNullException>().WithParameterName("targets");
        Invoking(() => TokenLogProbs.FromHiddenStates(null!, weight, targets)).Should().Throw<ArgumentNullException>().WithParameterName("hidden");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), null!, targets)).Should().Throw<ArgumentNullException>().WithParameterName("weight");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), weight, null!)).Should().Throw<ArgumentNullException>().WithParameterName("targets");
    }

    [Fact]
    public void Logits_of_the_wrong_rank_are_rejected_with_their_shape()
    {
        using var scope = NewDisposeScope();
        Invoking(() => TokenLogProbs.FromLogits(zeros(6, 5), zeros(new long[] { 2, 3 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("logits")
            .WithMessage("logits must have shape [B, T, V] (rank 3); got rank 2 with shape [6, 5].*");
    }

    [Fact]
    public void Non_float_logits_are_rejected_with_their_dtype()
    {
        using var scope = NewDisposeScope();
        Invoking(() => TokenLogProbs.FromLogits(zeros(new long[] { 2, 3, 5 }, ScalarType.Int64), zeros(new long[] { 2, 3 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("logits")
            .WithMessage("logits must be float16, bfloat16, float32 or float64; got Int64.*");
    }

    [Fact]
    public void An_empty_vocabulary_is_rejected()
    {
        using var scope = NewDisposeScope();
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 0), zeros(new long[] { 2, 3 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("logits")
            .WithMessage("logits must have a vocabulary dimension V >= 1; got shape [2, 3, 0].*");
    }

    [Fact]
    public void Targets_whose_shape_is_not_the_first_two_logits_dimensions_are_rejected()
    {
        using var scope = NewDisposeScope();
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), zeros(new long[] { 2, 4 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("targets must have shape [B, T] = [2, 3] (logits' first two dimensions (logits [2, 3, 5])); got [2, 4].*");
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), zeros(new long[] { 6 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("*got [6].*");
    }

    [Fact]
    public void Non_integer_targets_are_rejected_with_their_dtype()
    {
        using var scope = NewDisposeScope();
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), zeros(2, 3)))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("targets must hold integer token ids (int64 or int32); got Float32.*");
    }

    [Theory]
    [InlineData(0.0, "0")]
    [InlineData(-1.5, "-1.5")]
    [InlineData(double.NaN, "NaN")]
    [InlineData(double.PositiveInfinity, "Infinity")]
    public void A_temperature_that_is_not_finite_and_positive_is_rejected(double temperature, string shown)
    {
        using var scope = NewDisposeScope();
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), targets, temperature))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature")
            .WithMessage($"temperature must be finite and > 0; got {shown}.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets, temperature: temperature))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("temperature");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-3)]
    public void A_chunk_size_below_one_is_rejected(int chunk)
    {
        using var scope = NewDisposeScope();
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), targets, chunkSize: chunk))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("chunkSize")
            .WithMessage($"chunkSize must be at least 1 row; got {chunk}.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets, chunkSize: chunk))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("chunkSize");
    }

    [Theory]
    [InlineData(-1, 2, "got ids from -1 to 2")]
    [InlineData(0, 5, "got ids from 0 to 5")]
    public void Target_ids_outside_the_vocabulary_are_rejected_with_their_range(long low, long high, string shown)
    {
        using var scope = NewDisposeScope();
        var targets = tensor(new long[] { low, 1, 2, 0, high, 1 }).reshape(2, 3);
        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), targets))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("targets")
            .WithMessage($"targets must hold token ids in [0, V) = [0, 5); {shown}.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets.to(ScalarType.Int32)))
            .Should().Throw<ArgumentOutOfRangeException>().WithParameterName("targets")
            .WithMessage($"targets must hold token ids in [0, V) = [0, 5); {shown}.*");
    }

    [Fact]
    public void Tensors_on_different_devices_are_rejected_with_both_devices()
    {
        using var scope = NewDisposeScope();
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        var metaTargets = empty(new long[] { 2, 3 }, ScalarType.Int64, Meta);

        Invoking(() => TokenLogProbs.FromLogits(zeros(2, 3, 5), metaTargets))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("targets must be on the same device as logits (cpu); got meta.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), empty(new long[] { 5, 4 }, device: Meta), targets))
            .Should().Throw<ArgumentException>().WithParameterName("weight")
            .WithMessage("weight must be on the same device as hidden (cpu); got meta.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets, empty(new long[] { 5 }, device: Meta)))
            .Should().Throw<ArgumentException>().WithParameterName("bias")
            .WithMessage("bias must be on the same device as hidden (cpu); got meta.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), metaTargets))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("targets must be on the same device as hidden (cpu); got meta.*");
    }

    [Fact]
    public void Hidden_and_weight_shapes_must_agree_on_H()
    {
        using var scope = NewDisposeScope();
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 64), zeros(100, 32), targets))
            .Should().Throw<ArgumentException>().WithParameterName("weight")
            .WithMessage("weight must have H = 64 columns to match hidden [2, 3, 64]; got weight [100, 32].*");
    }

    [Fact]
    public void Fused_inputs_of_the_wrong_rank_dtype_or_bias_shape_are_rejected()
    {
        using var scope = NewDisposeScope();
        var targets = zeros(new long[] { 2, 3 }, ScalarType.Int64);
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(6, 4), zeros(5, 4), targets))
            .Should().Throw<ArgumentException>().WithParameterName("hidden")
            .WithMessage("hidden must have shape [B, T, H] (rank 3); got rank 2 with shape [6, 4].*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4, 1), targets))
            .Should().Throw<ArgumentException>().WithParameterName("weight")
            .WithMessage("weight must have shape [V, H] (rank 2); got rank 3 with shape [5, 4, 1].*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(new long[] { 2, 3, 4 }, ScalarType.Int32), zeros(5, 4), targets))
            .Should().Throw<ArgumentException>().WithParameterName("hidden")
            .WithMessage("hidden must be float16, bfloat16, float32 or float64; got Int32.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(new long[] { 5, 4 }, ScalarType.Float64), targets))
            .Should().Throw<ArgumentException>().WithParameterName("weight")
            .WithMessage("weight must have the dtype of hidden (Float32); got Float64.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets, zeros(4)))
            .Should().Throw<ArgumentException>().WithParameterName("bias")
            .WithMessage("bias must have shape [V] = [5]; got [4].*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), targets, zeros(new long[] { 5 }, ScalarType.Float64)))
            .Should().Throw<ArgumentException>().WithParameterName("bias")
            .WithMessage("bias must have the dtype of hidden (Float32); got Float64.*");
        Invoking(() => TokenLogProbs.FromHiddenStates(zeros(2, 3, 4), zeros(5, 4), zeros(new long[] { 3, 2 }, ScalarType.Int64)))
            .Should().Throw<ArgumentException>().WithParameterName("targets")
            .WithMessage("targets must have shape [B, T] = [2, 3] (hidden's first two dimensions (hidden [2, 3, 4])); got [3, 2].*");
    }

    private static Func<Tensor> Invoking(Func<Tensor> call) => call;
}
