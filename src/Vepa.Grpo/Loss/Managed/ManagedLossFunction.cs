using TorchSharp;

namespace Vepa.Grpo;

/// <summary>
/// Autograd node of the managed kernel: forward returns the loss the kernel already computed and saves its gradient
/// dLoss/dLogProbs; backward returns that gradient times the incoming gradient.
/// </summary>
/// <remarks>Call through <c>apply(logProbs, ManagedLossFunction.Precomputed)</c>; the second argument is not a tensor, so the
/// node's only differentiable input is the log-probs.</remarks>
internal sealed class ManagedLossFunction : torch.autograd.SingleTensorFunction<ManagedLossFunction>
{
    /// <inheritdoc />
    public override string Name => nameof(ManagedLossFunction);

    /// <inheritdoc />
    public override torch.Tensor forward(torch.autograd.AutogradContext ctx, params object[] vars)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(vars);
        var logProbs = (torch.Tensor)vars[0];
        var precomputed = (Precomputed)vars[1];
        ctx.save_for_backward([precomputed.Gradient, logProbs]);
        ctx.save_data(nameof(Precomputed), precomputed);
        return torch.tensor(precomputed.Loss, logProbs.dtype, logProbs.device);
    }

    /// <inheritdoc />
    public override List<torch.Tensor> backward(torch.autograd.AutogradContext ctx, torch.Tensor grad_output)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        ArgumentNullException.ThrowIfNull(grad_output);
        var savedVariables = ctx.get_saved_variables();
        if (torch.is_grad_enabled())
        {
            // create_graph: true. The saved gradient is a constant; return the gradient of the same loss formed with
            // differentiable ops instead (see PolicyLossDoubleBackward).
            var precomputed = (Precomputed)ctx.get_data(nameof(Precomputed));
            return [PolicyLossDoubleBackward.Gradient(savedVariables[1], precomputed.Inputs, precomputed.Options, grad_output), null!];
        }

        var saved = savedVariables[0];
        if (IsOne(grad_output))
        {
            // loss.backward() seeds 1: hand out the saved gradient itself (autograd never writes into an incoming gradient it
            // does not own exclusively, and the saved variable keeps a reference), saving a pass over B×T.
            return [saved, null!];
        }

        using (saved)
        {
            return [saved.mul(grad_output), null!];
        }
    }

    private static bool IsOne(torch.Tensor gradOutput)
    {
        if (gradOutput.numel() != 1 || gradOutput.device_type != DeviceType.CPU)
        {
            return false;
        }

        return gradOutput.dtype switch
        {
            torch.ScalarType.Float32 => gradOutput.item<float>() == 1f,
            torch.ScalarType.Float64 => gradOutput.item<double>() == 1.0,
            _ => false,
        };
    }

    /// <summary>The kernel's results handed to <see cref="forward"/>.</summary>
    /// <param name="Loss">The loss value.</param>
    /// <param name="Gradient">dLoss/dLogProbs, [B, T], not requiring grad.</param>
    /// <param name="Inputs">The caller's inputs (for a differentiable backward under <c>create_graph</c>).</param>
    /// <param name="Options">The options.</param>
    internal sealed record Precomputed(double Loss, torch.Tensor Gradient, PolicyLossInputs Inputs, PolicyLossOptions Options);
}
