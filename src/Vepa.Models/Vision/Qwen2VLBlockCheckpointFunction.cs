using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Gradient checkpointing of one vision block: the forward runs without a graph and keeps only the block's input (and the shared
/// rotary cos/sin); the backward recomputes the block with a graph and back-propagates through it, parameter gradients
/// accumulating into <c>.grad</c> (PyTorch's reentrant <c>torch.utils.checkpoint</c>).
/// </summary>
/// <remarks>Called only through <see cref="Qwen2VLVisionTransformer"/>. The block has no randomness, so the recomputation is exact.</remarks>
internal sealed class Qwen2VLBlockCheckpointFunction : autograd.SingleTensorFunction<Qwen2VLBlockCheckpointFunction>
{
    private const string CallKey = "call";

    public override string Name => "VepaQwen2VLVisionBlockCheckpoint";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var call = (BlockCall)vars[1];
        ctx.save_for_backward([hidden, call.Cos, call.Sin]);
        ctx.save_data(CallKey, call with { Cos = null!, Sin = null! });
        using (no_grad())
        {
            return call.Block.Forward(hidden, call.Cos, call.Sin, call.Lengths);
        }
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var call = (BlockCall)ctx.get_data(CallKey);
        Tensor input;
        using (enable_grad())
        {
            input = saved[0].detach().requires_grad_(true);
            call.Block.Forward(input, saved[1], saved[2], call.Lengths).backward([grad_output]);
        }

        return [input.grad!.MoveToOuterDisposeScope(), null!];
    }

    /// <summary>The non-differentiable part of a block call.</summary>
    internal sealed record BlockCall(Qwen2VLVisionBlock Block, Tensor Cos, Tensor Sin, long[] Lengths);
}
