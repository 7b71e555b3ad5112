using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// The Qwen models' autograd gradients against central finite differences of the model's own forward in float64: an independent check
/// of every backward formula the layers use (RMSNorm, rotary, grouped attention with the causal mask, SwiGLU, tied or untied head).
/// </summary>
public sealed class QwenGradientFiniteDifferenceTests
{
    [Theory]
    [InlineData("qwen2-untied")]
    [InlineData("qwen2-tied-sharded")]
    [InlineData("qwen3-untied")]
    public void Parameter_gradients_match_central_differences_in_float64(string fixture)
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder(fixture));
        model.to(ScalarType.Float64);
        using var generator = new Generator(17);
        var ids = randint(0, model.Config.VocabSize, [2, 6], ScalarType.Int64, generator: generator);
        var mask = tensor(new long[,] { { 0, 1, 1, 1, 1, 1 }, { 1, 1, 1, 1, 1, 1 } });
        var weights = randn([2, 6, model.Config.VocabSize], ScalarType.Float64, generator: generator);

        double Objective()
        {
            using var inner = NewDisposeScope();
            return (model.ComputeLogits(model.Forward(ids, mask)) * weights).sum().item<double>();
        }

        var parameters = model.HuggingFaceParameters();
        foreach (var p in parameters.Values)
        {
            p.requires_grad = true;
            p.grad?.zero_();
        }

        (model.ComputeLogits(model.Forward(ids, mask)) * weights).sum().backward();

        // A few entries of each kind of parameter, chosen by a fixed generator.
        var picked = parameters.Where(p => p.Key.Contains("layers.0.", StringComparison.Ordinal) || !p.Key.Contains("layers.", StringComparison.Ordinal)).ToList();
        picked.Should().NotBeEmpty();
        var rng = new Random(5);
        const double H = 1e-5;
        using var noGrad = no_grad();
        foreach (var (name, parameter) in picked)
        {
            var flat = parameter.view(-1);
            var grad = parameter.grad!.view(-1);
            for (int k = 0; k < 2; k++)
            {
                long index = rng.NextInt64(flat.shape[0]);
                double original = flat[index].item<double>();
                flat[index] = original + H;
                double plus = Objective();
                flat[index] = original - H;
                double minus = Objective();
                flat[index] = original;
                double numeric = (plus - minus) / (2 * H);
                double analytic = grad[index].item<double>();
                Math.Abs(analytic - numeric).Should().BeLessThan(1e-6 * Math.Max(1.0, Math.Abs(numeric)), $"{fixture}: d objective / d {name}[{index}]: autograd {analytic:E6}, finite difference {numeric:E6}");
            }
        }
    }
}
