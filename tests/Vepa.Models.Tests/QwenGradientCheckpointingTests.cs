using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Gradient checkpointing recomputes each layer in backward and must give the plain gradients.</summary>
public class QwenGradientCheckpointingTests
{
    [Theory]
    [InlineData("qwen2-untied")]
    [InlineData("qwen3-bf16-tied")]
    public void Checkpointed_gradients_equal_plain_gradients(string fixture)
    {
        using var scope = NewDisposeScope();
        var expected = TextFixtures.Expected(fixture);
        var ids = expected["left.input_ids"].to(ScalarType.Int64);
        var mask = expected["left.attention_mask"].to(ScalarType.Int64);
        var plain = Gradients(fixture, ids, mask, checkpoint: false);
        var checkpointed = Gradients(fixture, ids, mask, checkpoint: true);
        checkpointed.Keys.Should().BeEquivalentTo(plain.Keys);
        foreach (var (name, grad) in plain)
        {
            grad.abs().max().item<double>().Should().BeGreaterThan(0, $"{name} gets a gradient");
            (checkpointed[name] - grad).abs().max().item<double>().Should().BeLessThan(1e-12, name);
        }
    }

    [Fact]
    public void Checkpointing_gives_gradients_even_when_the_embedding_is_frozen()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen3-untied"), dtype: ScalarType.Float64);
        model.train();
        model.GradientCheckpointing = true;
        model.Model.EmbeddingWeight.requires_grad_(false);
        var loss = model.ComputeLogits(model.Forward(tensor(new long[,] { { 5, 9, 11, 40 } }))).square().mean();
        loss.backward();
        var grad = model.HuggingFaceParameters()["model.layers.0.mlp.down_proj.weight"].grad;
        grad.Should().NotBeNull();
        grad!.abs().max().item<double>().Should().BeGreaterThan(0);
    }

    private static Dictionary<string, Tensor> Gradients(string fixture, Tensor ids, Tensor mask, bool checkpoint)
    {
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder(fixture), dtype: ScalarType.Float64);
        model.train();
        model.GradientCheckpointing = checkpoint;
        var logits = model.ComputeLogits(model.Forward(ids, mask));
        var weights = linspace(-1, 1, logits.shape[^1], ScalarType.Float64);
        var loss = (logits * weights * mask.unsqueeze(-1)).sum() / 100.0;
        loss.backward();
        return model.HuggingFaceParameters().ToDictionary(p => p.Key, p => p.Value.grad!.clone());
    }
}
