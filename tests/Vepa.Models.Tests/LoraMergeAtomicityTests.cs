using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models.Tests;

/// <summary>
/// <see cref="LoraAdapters.Merge"/> is all or nothing: when one layer's weight cannot take its ΔW, the layers merged before it are
/// unmerged again, so the model keeps computing the adapted output and no ΔW is counted twice.
/// </summary>
public sealed class LoraMergeAtomicityTests
{
    private const string Broken = "model.layers.1.self_attn.q_proj";

    [Fact]
    public void A_merge_that_fails_on_a_later_layer_leaves_every_weight_and_the_output_as_they_were()
    {
        using var model = LoraAdapterTests.CreateModel(seed: 21);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = 7 });
        LoraAdapterTests.RandomiseB(adapters, seed: 5);
        adapters.ModulePaths.Should().HaveCount(14);
        int brokenIndex = adapters.ModulePaths.ToList().IndexOf(Broken);
        brokenIndex.Should().Be(7, "layer 0's seven projections come first and are merged before the failure");

        // The later layer's weight becomes a broadcast view (stride 0 along the input): a forward reads it, but an in-place write
        // into it is refused (several elements share one memory location), so Merge fails on that layer.
        var weight = model.named_parameters().Single(p => p.name == Broken + ".weight").parameter;
        using (no_grad())
        {
            using var generator = new Generator(31);
            var column = randn([weight.shape[0], 1], ScalarType.Float64, generator: generator) * 0.3;
            weight.set_(column.expand(weight.shape));
        }

        using var idGenerator = new Generator(17);
        var ids = randint(0, 40, [2, 6], ScalarType.Int64, generator: idGenerator);
        var adapted = LoraAdapterTests.Hidden(model, ids);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var act = adapters.Merge;

        act.Should().Throw<Exception>("the broadcast weight cannot be written in place").WithMessage("*memory location*");
        adapters.IsMerged.Should().BeFalse();
        foreach (var (name, parameter) in model.named_parameters())
        {
            (parameter.detach() - before[name]).abs().max().item<double>().Should().BeLessThanOrEqualTo(1e-12, $"{name} is as it was before Merge");
        }

        var after = LoraAdapterTests.Hidden(model, ids);
        (after - adapted).abs().max().item<double>().Should().BeLessThan(1e-12, "the adapters still run and no merged ΔW is added a second time");
    }

    [Fact]
    public void An_unmerge_that_fails_on_a_later_layer_leaves_the_adapters_merged_and_every_weight_as_it_was()
    {
        using var model = LoraAdapterTests.CreateModel(seed: 22);
        var adapters = LoraAdapters.Apply(model, new LoraOptions { Rank = 4, Alpha = 8, Seed = 8 });
        LoraAdapterTests.RandomiseB(adapters, seed: 6);
        using var idGenerator = new Generator(18);
        var ids = randint(0, 40, [2, 6], ScalarType.Int64, generator: idGenerator);
        adapters.Merge();

        // Merged, then the later layer's weight becomes a broadcast view of one of its columns: readable, not writable in place.
        var weight = model.named_parameters().Single(p => p.name == Broken + ".weight").parameter;
        using (no_grad())
        {
            weight.set_(weight.detach()[.., ..1].clone().expand(weight.shape));
        }

        var merged = LoraAdapterTests.Hidden(model, ids);
        var before = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone());

        var act = adapters.Unmerge;

        act.Should().Throw<Exception>("the broadcast weight cannot be written in place").WithMessage("*memory location*");
        adapters.IsMerged.Should().BeTrue("a retry must find every layer still merged");
        foreach (var (name, parameter) in model.named_parameters())
        {
            (parameter.detach() - before[name]).abs().max().item<double>().Should().BeLessThanOrEqualTo(1e-12, $"{name} is as it was before Unmerge");
        }

        (LoraAdapterTests.Hidden(model, ids) - merged).abs().max().item<double>().Should().BeLessThan(1e-12, "no layer lost its ΔW");
    }
}
