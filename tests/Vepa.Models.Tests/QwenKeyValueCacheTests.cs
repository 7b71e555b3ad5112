using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Incremental decoding with <see cref="KeyValueCache"/> against full recomputation (and the reference).</summary>
public class QwenKeyValueCacheTests
{
    [Theory]
    [InlineData("qwen2-untied")]
    [InlineData("qwen3-untied")]
    public void Token_by_token_decoding_with_a_cache_equals_full_recompute_on_a_left_padded_batch(string fixture)
    {
        using var scope = NewDisposeScope();
        var expected = TextFixtures.Expected(fixture);
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder(fixture), dtype: ScalarType.Float64);
        var ids = expected["left.input_ids"].to(ScalarType.Int64);
        var mask = expected["left.attention_mask"].to(ScalarType.Int64);
        long total = ids.shape[1];
        using var noGrad = no_grad();
        var full = model.ComputeLogits(model.Forward(ids, mask));

        // Prefill 4 positions, then one token at a time (the mask always covers every position so far).
        using var cache = new KeyValueCache();
        var steps = new List<Tensor> { model.ComputeLogits(model.Forward(ids.narrow(1, 0, 4), mask.narrow(1, 0, 4), cache: cache)) };
        for (long t = 4; t < total; t++)
        {
            steps.Add(model.ComputeLogits(model.Forward(ids.narrow(1, t, 1), mask.narrow(1, 0, t + 1), cache: cache)));
        }

        cache.Length.Should().Be(total);
        var incremental = cat(steps.ToArray(), 1);
        TextFixtures.MaxRelativeError(incremental, full, mask).Should().BeLessThan(1e-12);
        TextFixtures.MaxRelativeError(incremental, expected["left.logits.f64"], mask).Should().BeLessThan(1e-9);
    }

    [Fact]
    public void A_multi_token_step_after_a_prefill_without_a_mask_equals_full_recompute()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-tied-sharded"), dtype: ScalarType.Float64);
        var ids = TextFixtures.Expected("qwen2-tied-sharded")["right.input_ids"].to(ScalarType.Int64).narrow(0, 0, 1);
        using var noGrad = no_grad();
        var full = model.Forward(ids);
        using var cache = new KeyValueCache();
        var first = model.Forward(ids.narrow(1, 0, 5), cache: cache);
        var rest = model.Forward(ids.narrow(1, 5, 4), cache: cache);
        (cat([first, rest], 1) - full).abs().max().item<double>().Should().BeLessThan(1e-12);
    }

    [Fact]
    public void A_mask_that_does_not_cover_the_cached_positions_is_refused()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-untied"));
        using var cache = new KeyValueCache();
        using var noGrad = no_grad();
        model.Forward(tensor(new long[] { 5, 6, 7 }).unsqueeze(0), cache: cache);
        var act = () => model.Forward(tensor(new long[] { 8 }).unsqueeze(0), ones(1, 1, ScalarType.Int64), cache: cache);
        act.Should().Throw<ArgumentException>().WithMessage("*attentionMask must be [B, L_past + L] = [1, 4]*got [1, 1]*");
    }
}
