using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>The image corruptions of the visual-reliance measurement.</summary>
internal enum CorruptionKind
{
    GaussianNoise,
    MaskedPatches,
}

internal static class Corruption
{
    public static readonly double[] NoiseLevels = [0.0, 0.1, 0.2, 0.35, 0.5];
    public static readonly double[] MaskLevels = [0.0, 1 / 9.0, 2 / 9.0, 4 / 9.0, 6 / 9.0];

    public static double[] Levels(CorruptionKind kind) => kind == CorruptionKind.GaussianNoise ? NoiseLevels : MaskLevels;

    public static string LevelName(CorruptionKind kind, double level) =>
        kind == CorruptionKind.GaussianNoise ? FormattableString.Invariant($"σ={level:0.##}") : FormattableString.Invariant($"{Math.Round(level * 9)}/9 patches");

    /// <summary>A corrupted copy of images [B, 3, 24, 24]: added Gaussian noise of standard deviation σ, or that fraction of the 9 patches set to mid-grey.</summary>
    public static Tensor Apply(Tensor images, CorruptionKind kind, double level, Generator generator)
    {
        using var scope = torch.NewDisposeScope();
        if (level == 0)
        {
            return images.clone().MoveToOuterDisposeScope();
        }

        if (kind == CorruptionKind.GaussianNoise)
        {
            return (images + (torch.randn(images.shape, generator: generator) * level)).clamp(0, 1).MoveToOuterDisposeScope();
        }

        long b = images.shape[0];
        int masked = (int)Math.Round(level * 9);
        // A random subset of `masked` patches per image: the ranks of random keys.
        var ranks = torch.rand(b, 9, generator: generator).argsort(1).argsort(1);
        var patchMask = ranks.lt(masked).to(ScalarType.Float32).reshape(b, 1, 3, 1, 3, 1);
        var pixelMask = patchMask.expand(b, 3, 3, 8, 3, 8).reshape(b, 3, 24, 24);
        return ((images * (1 - pixelMask)) + (pixelMask * 0.45f)).MoveToOuterDisposeScope();
    }
}
