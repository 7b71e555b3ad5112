using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Module plumbing the policy adapter relies on: dtype moves, names, positions.</summary>
public class QwenModuleTests
{
    [Fact]
    public void Moving_a_loaded_model_to_float64_keeps_it_matching_the_float64_reference()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-tied-sharded"));
        model.to(ScalarType.Float64);
        model.LmHeadWeight.dtype.Should().Be(ScalarType.Float64);
        model.HuggingFaceParameters().Values.Should().AllSatisfy(p => p.dtype.Should().Be(ScalarType.Float64));

        var expected = TextFixtures.Expected("qwen2-tied-sharded");
        var ids = expected["left.input_ids"].to(ScalarType.Int64);
        var mask = expected["left.attention_mask"].to(ScalarType.Int64);
        using var noGrad = no_grad();
        var logits = model.ComputeLogits(model.Forward(ids, mask));

        // The weights were float32 values, so float64 arithmetic on them reproduces the float64 reference.
        TextFixtures.MaxRelativeError(logits, expected["left.logits.f64"], mask).Should().BeLessThan(1e-9);
    }

    [Fact]
    public void Parameter_names_are_the_published_Hugging_Face_names()
    {
        using var qwen3 = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen3-untied"));
        qwen3.HuggingFaceParameters().Keys.Should().Contain(
        [
            "model.embed_tokens.weight", "model.layers.1.self_attn.q_proj.weight", "model.layers.1.self_attn.q_norm.weight",
            "model.layers.1.self_attn.k_norm.weight", "model.layers.0.mlp.gate_proj.weight", "model.layers.0.input_layernorm.weight",
            "model.layers.0.post_attention_layernorm.weight", "model.norm.weight", "lm_head.weight",
        ]).And.NotContain("model.layers.0.self_attn.q_proj.bias");
        using var tied = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-tied-sharded"));
        tied.HuggingFaceParameters().Keys.Should().Contain("model.layers.2.self_attn.v_proj.bias").And.NotContain("lm_head.weight");
    }

    [Fact]
    public void Positions_count_real_tokens_as_Hugging_Face_generate_does()
    {
        using var scope = NewDisposeScope();
        var mask = tensor(new long[,] { { 0, 0, 1, 1, 1 }, { 1, 1, 1, 0, 0 }, { 1, 1, 1, 1, 1 } });
        var positions = QwenPositions.FromAttentionMask(mask);
        positions.data<long>().ToArray().Should().Equal(1, 1, 0, 1, 2, 0, 1, 2, 1, 1, 0, 1, 2, 3, 4);
        QwenPositions.FromAttentionMask(mask, 2).data<long>().ToArray().Should().Equal(1, 2, 1, 1, 3, 4);
    }

    [Fact]
    public void Out_of_range_ids_and_bad_shapes_are_refused_with_the_argument_named()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-untied"));
        var tooLarge = () => model.Forward(tensor(new long[,] { { 1, 256 } }));
        tooLarge.Should().Throw<ArgumentException>().WithMessage("inputIds must lie in [0, 256); found 256.*");
        var badMask = () => model.Forward(tensor(new long[,] { { 1, 2 } }), ones(1, 3, ScalarType.Int64));
        badMask.Should().Throw<ArgumentException>().WithParameterName("attentionMask");
        var badCos = () => model.Model.Forward(zeros(1, 2, 64), zeros(1, 2, 8), zeros(1, 2, 16));
        badCos.Should().Throw<ArgumentException>().WithParameterName("cos");
    }

    [Fact]
    public void Int32_ids_are_embedded_as_int64_ids_are_and_checked_against_the_vocabulary()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-untied"));
        var ids = tensor(new long[,] { { 1, 7, 255 }, { 3, 0, 42 } });

        model.Model.EmbedTokens(ids.to(ScalarType.Int32)).equal(model.Model.EmbedTokens(ids)).all().item<bool>().Should().BeTrue();
        var tooLarge = () => model.Model.EmbedTokens(tensor(new int[,] { { 1, 256 } }));
        tooLarge.Should().Throw<ArgumentException>().WithMessage("inputIds must lie in [0, 256); found 256.*").WithParameterName("inputIds");
        var negative = () => model.Model.EmbedTokens(tensor(new int[,] { { -1, 2 } }));
        negative.Should().Throw<ArgumentException>().WithMessage("inputIds must lie in [0, 256); found -1.*");
    }
}
