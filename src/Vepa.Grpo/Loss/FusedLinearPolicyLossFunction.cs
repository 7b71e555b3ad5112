using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Autograd node of the fused linear policy loss: forward runs <see cref="FusedLinearPolicyLossKernel"/>, which computes the
/// loss and the gradients w.r.t. hidden, weight and bias in one pass, and saves the gradients; backward scales them by the
/// incoming gradient.
/// </summary>
/// <remarks>Arguments of <c>apply</c>: hidden, weight, bias (or <see langword="null"/>), a <see cref="FusedLinearPolicyLossCall"/>.</remarks>
internal sealed class FusedLinearPolicyLossFunction : autograd.SingleTensorFunction<FusedLinearPolicyLossFunction>
{
    private const string CallKey = "call";

    /// <inheritdoc />
    public override string Name => nameof(FusedLinearPolicyLossFunction);

    /// <inheritdoc />
    public override Tensor forward(autograd.AutogradContext ctx, params object[] vars)
    {
        var hidden = (Tensor)vars[0];
        var weight = (Tensor)vars[1];
        var bias = vars[2] as Tensor;
        var call = (FusedLinearPolicyLossCall)vars[3];
        var (loss, gradHidden, gradWeight, gradBias) = FusedLinearPolicyLossKernel.Run(call);
        ctx.save_for_backward([gradHidden!, gradWeight!, gradBias!, hidden, weight, bias!]);
        ctx.save_data(CallKey, call);
        return loss;
    }

    /// <inheritdoc />
    public override List<Tensor> backward(autograd.AutogradContext ctx, Tensor grad_output)
    {
        var saved = ctx.get_saved_variables();
        var call = (FusedLinearPolicyLossCall)ctx.get_data(CallKey);
        if (is_grad_enabled())
        {
            // create_graph: true. The saved gradients are constants; form them again, differentiably, from the plain
            // composition (the full logits exist once here; this path is for second derivatives only).
            return [.. PlainGradients(saved[3], saved[4], call.Inputs.Bias is null ? null : saved[5], call, grad_output), null!];
        }

        bool one = IsOne(grad_output);
        Tensor? Scale(Tensor? gradient, bool needed)
        {
            if (!needed || gradient is null || gradient.IsInvalid)
            {
                return null;
            }

            return one ? gradient : gradient.mul(grad_output);
        }

        return
        [
            Scale(saved[0], call.NeedHidden)!,
            Scale(saved[1], call.NeedWeight)!,
            Scale(saved[2], call.NeedBias)!,
            null!,
        ];
    }

    private static List<Tensor> PlainGradients(Tensor hidden, Tensor weight, Tensor? bias, FusedLinearPolicyLossCall call, Tensor gradOutput)
    {
        using var scope = NewDisposeScope();
        var inputs = call.Inputs;
        long time = inputs.Targets.shape[1];
        var used = inputs.Shift ? hidden.narrow(1, 0, time) : hidden;
        var logits = bias is null ? used.matmul(weight.t()) : used.matmul(weight.t()).add(bias);
        var compute = hidden.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var scaled = logits.to(compute).div(inputs.Temperature);
        var logProbs = scaled.log_softmax(-1).gather(-1, inputs.Targets.to(ScalarType.Int64).unsqueeze(-1)).squeeze(-1);
        var constants = call.LossInputs with { LogProbs = logProbs };
        if (constants.OldLogProbs is null)
        {
            constants = constants with { OldLogProbs = logProbs.detach() };
        }

        var (loss, _, _, _) = FusedPolicyLossFunction.Run(logProbs, constants, call.Options, needsGradient: false);
        var wanted = new List<Tensor>();
        if (call.NeedHidden)
        {
            wanted.Add(hidden);
        }

        if (call.NeedWeight)
        {
            wanted.Add(weight);
        }

        if (call.NeedBias)
        {
            wanted.Add(bias!);
        }

        var grads = autograd.grad([loss], wanted, retain_graph: true, create_graph: true);
        int next = 0;
        Tensor? Next(bool needed) => needed ? grads[next++].mul(gradOutput).MoveToOuterDisposeScope() : null;
        return [Next(call.NeedHidden)!, Next(call.NeedWeight)!, Next(call.NeedBias)!];
    }

    private static bool IsOne(Tensor gradOutput)
    {
        if (gradOutput.numel() != 1 || gradOutput.device_type != DeviceType.CPU)
        {
            return false;
        }

        using var wide = gradOutput.to(ScalarType.Float64);
        return wide.item<double>() == 1.0;
    }
}
