using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Qwen2-VL's vision tower (Hugging Face <c>Qwen2VisionTransformerPretrainedModel</c>, the <c>visual.*</c> parameters): 3-D patch
/// embedding, blocks of LayerNorm / 2-D rotary attention restricted to each image / MLP, and the patch merger that turns every
/// merge × merge patches into one language-model token.
/// </summary>
/// <remarks>
/// <para>Parameter names (relative to this module) are Hugging Face's: <c>patch_embed.proj.weight</c> [E, C, T, P, P],
/// <c>blocks.{i}.norm{1,2}.{weight,bias}</c>, <c>blocks.{i}.attn.qkv.{weight,bias}</c>, <c>blocks.{i}.attn.proj.{weight,bias}</c>,
/// <c>blocks.{i}.mlp.fc{1,2}.{weight,bias}</c>, <c>merger.ln_q.{weight,bias}</c>, <c>merger.mlp.{0,2}.{weight,bias}</c>.</para>
/// <para>The rotary angles are computed in float32 (float64 for float64 weights) and q/k are rotated in that precision, as the
/// reference does. Not thread-safe; a TorchSharp module.</para>
/// </remarks>
public sealed class Qwen2VLVisionTransformer : nn.Module
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the Hugging Face parameter names (TorchSharp registers fields by name).
    private readonly Qwen2VLPatchEmbed patch_embed;
    private readonly ModuleList<Qwen2VLVisionBlock> blocks;
    private readonly Qwen2VLPatchMerger merger;
#pragma warning restore IDE1006, SA1307, SA1309

    /// <summary>Initializes a new instance of the <see cref="Qwen2VLVisionTransformer"/> class with uninitialised weights.</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The weights' dtype.</param>
    /// <exception cref="ArgumentNullException"><paramref name="config"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The config is invalid.</exception>
    public Qwen2VLVisionTransformer(Qwen2VLVisionConfig config, Device? device = null, ScalarType dtype = ScalarType.Float32)
        : base(nameof(Qwen2VLVisionTransformer))
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        patch_embed = new Qwen2VLPatchEmbed(config, device, dtype);
        blocks = new ModuleList<Qwen2VLVisionBlock>(Enumerable.Range(0, config.Depth).Select(_ => new Qwen2VLVisionBlock(config, device, dtype)).ToArray());
        merger = new Qwen2VLPatchMerger(config, device, dtype);
        RegisterComponents();
    }

    /// <summary>Gets the architecture.</summary>
    public Qwen2VLVisionConfig Config { get; }

    /// <summary>Gets or sets whether training passes recompute each vision block in the backward pass instead of keeping its activations.</summary>
    /// <value>The default is <see langword="false"/>. Applies only in training mode when gradients are enabled.</value>
    public bool GradientCheckpointing { get; set; }

    /// <summary>Encodes the patches of one or more images.</summary>
    /// <param name="pixelValues">The flattened patches [Σ t·h·w, C·T·P·P] from <see cref="Qwen2VLImageProcessor.Process"/>, any float dtype (cast to the weights').</param>
    /// <param name="imageGridThw">The grids [N, 3] (t, h, w), integer; h and w multiples of the merge size.</param>
    /// <returns>Image features [Σ t·h·w / merge², hidden_size], images in order, each image's tokens in the processor's merge-window order.</returns>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape disagrees with the config or the grids (the message names the argument and both shapes).</exception>
    public Tensor Forward(Tensor pixelValues, Tensor imageGridThw)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        ArgumentNullException.ThrowIfNull(imageGridThw);
        var grids = ReadGrids(imageGridThw, Config.SpatialMergeSize);
        long patches = grids.Sum(g => g.T * g.H * g.W);
        long row = (long)Config.InChannels * Config.TemporalPatchSize * Config.PatchSize * Config.PatchSize;
        if (pixelValues.dim() != 2 || pixelValues.shape[0] != patches || pixelValues.shape[1] != row)
        {
            throw new ArgumentException(
                $"pixelValues must be [Σ t·h·w, C·T·P·P] = [{patches}, {row}] for imageGridThw; got [{string.Join(", ", pixelValues.shape)}].", nameof(pixelValues));
        }

        using var scope = NewDisposeScope();
        var x = patch_embed.forward(pixelValues.to(patch_embed.parameters().First().device));
        var rotaryType = x.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var (cos, sin) = RotaryCosSin(grids, rotaryType, x.device);
        long[] lengths = grids.SelectMany(g => Enumerable.Repeat(g.H * g.W, (int)g.T)).ToArray();
        bool checkpoint = GradientCheckpointing && training && is_grad_enabled();
        if (checkpoint && !x.requires_grad)
        {
            // The blocks' parameters get gradients only if the function's output requires grad, so its input must.
            x = x.detach().requires_grad_(true);
        }

        foreach (var block in blocks)
        {
            x = checkpoint
                ? Qwen2VLBlockCheckpointFunction.apply(x, new Qwen2VLBlockCheckpointFunction.BlockCall(block, cos, sin, lengths))
                : block.Forward(x, cos, sin, lengths);
        }

        return merger.forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>Reads and checks [N, 3] grids.</summary>
    internal static (long T, long H, long W)[] ReadGrids(Tensor imageGridThw, int mergeSize)
    {
        if (imageGridThw.dim() != 2 || imageGridThw.shape[1] != 3 || imageGridThw.dtype is not (ScalarType.Int64 or ScalarType.Int32))
        {
            throw new ArgumentException($"imageGridThw must be integer [N, 3]; got {imageGridThw.dtype} [{string.Join(", ", imageGridThw.shape)}].", nameof(imageGridThw));
        }

        var flat = imageGridThw.to(ScalarType.Int64).cpu().data<long>().ToArray();
        var grids = new (long T, long H, long W)[flat.Length / 3];
        for (int i = 0; i < grids.Length; i++)
        {
            grids[i] = (flat[3 * i], flat[(3 * i) + 1], flat[(3 * i) + 2]);
            if (grids[i].T < 1 || grids[i].H < 1 || grids[i].W < 1 || grids[i].H % mergeSize != 0 || grids[i].W % mergeSize != 0)
            {
                throw new ArgumentException(
                    $"imageGridThw[{i}] = ({grids[i].T}, {grids[i].H}, {grids[i].W}) is invalid: t, h, w must be positive and h, w multiples of the merge size {mergeSize}.", nameof(imageGridThw));
            }
        }

        return grids;
    }

    /// <summary>
    /// The 2-D rotary cos/sin [N, head_dim]: each patch's (row, column) in the grid, listed in merge-window order, each rotating
    /// half of the rotary frequencies (θ = 10000 over head_dim / 2), the two halves concatenated and the result repeated twice.
    /// </summary>
    internal (Tensor Cos, Tensor Sin) RotaryCosSin((long T, long H, long W)[] grids, ScalarType dtype, Device device)
    {
        using var scope = NewDisposeScope();
        int m = Config.SpatialMergeSize, rotaryDim = Config.HeadDim / 2;
        var rows = new List<long>();
        var cols = new List<long>();
        foreach (var (t, h, w) in grids)
        {
            for (long frame = 0; frame < t; frame++)
            {
                for (long by = 0; by < h / m; by++)
                {
                    for (long bx = 0; bx < w / m; bx++)
                    {
                        for (long iy = 0; iy < m; iy++)
                        {
                            for (long ix = 0; ix < m; ix++)
                            {
                                rows.Add((by * m) + iy);
                                cols.Add((bx * m) + ix);
                            }
                        }
                    }
                }
            }
        }

        var inverse = arange(0, rotaryDim, 2, ScalarType.Int64, device).to(dtype).div(rotaryDim);
        inverse = full_like(inverse, 10000.0).pow(inverse).reciprocal();
        var rowAngles = tensor(rows.ToArray(), device: device).to(dtype).unsqueeze(1) * inverse;
        var colAngles = tensor(cols.ToArray(), device: device).to(dtype).unsqueeze(1) * inverse;
        var angles = cat([rowAngles, colAngles], 1);
        var both = cat([angles, angles], 1);
        return (both.cos().MoveToOuterDisposeScope(), both.sin().MoveToOuterDisposeScope());
    }
}
