using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>Logits against the independent PyTorch reference (tools/qwen-fixtures), left- and right-padded batches.</summary>
public class QwenLogitsTests(ITestOutputHelper output)
{
    public static TheoryData<string, string> FixturesAndSides()
    {
        var data = new TheoryData<string, string>();
        foreach (string name in TextFixtures.Names)
        {
            data.Add(name, "left");
            data.Add(name, "right");
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(FixturesAndSides))]
    public void Float32_logits_match_the_reference_within_1e_4(string fixture, string side)
    {
        double error = RelativeError(fixture, side, ScalarType.Float32, "f32");
        output.WriteLine($"{fixture} {side} float32: max relative error {error:E2}");
        error.Should().BeLessThan(1e-4);
    }

    [Theory]
    [MemberData(nameof(FixturesAndSides))]
    public void Float64_logits_match_the_reference_within_1e_9(string fixture, string side)
    {
        double error = RelativeError(fixture, side, ScalarType.Float64, "f64");
        output.WriteLine($"{fixture} {side} float64: max relative error {error:E2}");
        error.Should().BeLessThan(1e-9);
    }

    /// <summary>bf16 weights and activations (norms, rotary and softmax upcast as in Hugging Face) against the float64 truth: stated tolerance 3e-2 relative.</summary>
    [Theory]
    [InlineData("qwen3-bf16-tied")]
    [InlineData("qwen2-untied")]
    public void Bfloat16_logits_stay_within_3e_2_of_the_float64_reference(string fixture)
    {
        double error = RelativeError(fixture, "left", ScalarType.BFloat16, "f64");
        double referenceBf16 = RelativeError(fixture, "left", ScalarType.BFloat16, "bf16");
        output.WriteLine($"{fixture} bf16: vs float64 reference {error:E2}, vs the reference's own bf16 path {referenceBf16:E2}");
        error.Should().BeLessThan(3e-2);
    }

    [Fact]
    public void A_row_alone_and_the_same_row_in_a_left_padded_batch_give_the_same_logits()
    {
        using var scope = NewDisposeScope();
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder("qwen2-untied"), dtype: ScalarType.Float64);
        var expected = TextFixtures.Expected("qwen2-untied");
        var ids = expected["left.input_ids"].to(ScalarType.Int64);
        var mask = expected["left.attention_mask"].to(ScalarType.Int64);
        long real = mask[2].sum().item<long>();
        long total = ids.shape[1];
        using var noGrad = no_grad();
        var batch = model.ComputeLogits(model.Forward(ids, mask));
        var alone = model.ComputeLogits(model.Forward(ids[2].narrow(0, total - real, real).unsqueeze(0)));
        var fromBatch = batch[2].narrow(0, total - real, real);
        (fromBatch - alone[0]).abs().max().item<double>().Should().BeLessThan(1e-12);
    }

    private static double RelativeError(string fixture, string side, ScalarType dtype, string reference)
    {
        using var scope = NewDisposeScope();
        var expected = TextFixtures.Expected(fixture);
        using var model = QwenForCausalLM.FromPretrained(TextFixtures.Folder(fixture), dtype: dtype);
        var ids = expected[$"{side}.input_ids"].to(ScalarType.Int64);
        var mask = expected[$"{side}.attention_mask"].to(ScalarType.Int64);
        using var noGrad = no_grad();
        var logits = model.ComputeLogits(model.Forward(ids, mask));
        return TextFixtures.MaxRelativeError(logits, expected[$"{side}.logits.{reference}"], mask);
    }
}
