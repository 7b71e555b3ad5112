using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Gradient checkpointing of one decoder layer: the forward runs without building a graph and keeps only the layer's input; the
/// backward recomputes the layer with a graph and back-propagates through it (parameter gradients accumulate into
/// <c>.grad</c>, as PyTorch's reentrant <c>torch.utils.checkpoint</c> does).
/// </summary>
/// <remarks>
/// Called only through <see cref="QwenDecoder"/> as <c>apply(hidden, call)</c>. The layer has no dropout or other randomness, so the
/// recomputation is exact. Like the reentrant checkpoint, it supports <c>loss.backward()</c>, not <c>torch.autograd.grad</c> with respect
/// to parameters.
/// </remarks>
internal sealed class QwenCheckpointFunction : autograd.SingleTensorFunction<QwenCheckpointFunction>
{
    private const string CallKey = "call";

    public override string Name => "VepaQwenLayerCheckpoint";

    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var call = (LayerCall)vars[1];
        ctx.save_for_backward(call.Mask is null ? [hidden, call.Cos, call.Sin] : [hidden, call.Cos, call.Sin, call.Mask]);
        ctx.save_data(CallKey, call with { Cos = null!, Sin = null!, Mask = null });
        using (no_grad())
        {
            return call.Layer.Forward(hidden, call.Cos, call.Sin, call.Mask, call.Causal, null);
        }
    }

    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        using var scope = NewDisposeScope();
        var saved = ctx.get_saved_variables();
        var call = (LayerCall)ctx.get_data(CallKey);
        Tensor input;
        using (enable_grad())
        {
            input = saved[0].detach().requires_grad_(true);
            var output = call.Layer.Forward(input, saved[1], saved[2], saved.Count > 3 ? saved[3] : null, call.Causal, null);
            output.backward([grad_output]);
        }

        return [input.grad!.MoveToOuterDisposeScope(), null!];
    }

    /// <summary>The non-differentiable part of a layer call.</summary>
    internal sealed record LayerCall(QwenDecoderLayer Layer, Tensor Cos, Tensor Sin, Tensor? Mask, bool Causal);
}
