using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The GRPO policy loss fused with the LM head: from hidden states and the LM-head weight straight to the loss, with the
/// gradients w.r.t. the hidden states, the weight and the bias computed chunk by chunk in the forward pass, so the [B, T, V]
/// logits are never materialised and never recomputed.
/// </summary>
/// <remarks>
/// <para>It equals <see cref="TokenLogProbs.FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/> followed by
/// <see cref="PolicyLoss.Compute"/> (every <see cref="PolicyLossOptions"/> setting, every aggregation): the normalisers each
/// aggregation needs (per-row token counts, the total token count, B and T) are computed from the mask first, so each
/// chunk's gradient is final when the chunk is done. <see cref="PolicyLossOptions.Kernel"/> is ignored.</para>
/// <para><b>Memory.</b> Beyond the inputs: one chunk of logits in the compute dtype (worked in place: logits, then
/// exp, then their gradient; plus the chunk in the input dtype for float16/bfloat16), the gradients (hidden-sized, and the
/// [V, H] weight gradient), and a few [B, T] tensors. For float16/bfloat16 inputs the weight gradient is accumulated over
/// the chunks in the inputs' dtype (each chunk's GEMM accumulates in float32 and rounds once), which keeps a float32
/// [V, H] accumulator out of the peak; the composition's <see cref="TokenLogProbs.FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>
/// accumulates in float32, so the two differ by a few bf16 roundings.</para>
/// <para><b>Cost.</b> The gradients are computed even if backward is never called (when nothing requires grad, or under
/// <c>no_grad</c>, they are not). Backward only scales them by the incoming gradient.</para>
/// <para>Under <c>create_graph: true</c> the backward pass falls back to the plain composition (the full logits, formed once)
/// so that second derivatives are exact. Thread-safe: the function keeps no state.</para>
/// </remarks>
public static class FusedLinearPolicyLoss
{
    private static readonly PolicyLossOptions Defaults = new();

    /// <summary>Computes the loss and its statistics, and (when an input requires grad) the gradients in the same pass.</summary>
    /// <param name="inputs">The hidden states, LM head, targets and the policy-loss constants.</param>
    /// <param name="options">The loss settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The loss (differentiable w.r.t. <see cref="FusedLinearPolicyLossInputs.Hidden"/>, <see cref="FusedLinearPolicyLossInputs.Weight"/> and <see cref="FusedLinearPolicyLossInputs.Bias"/>) and the statistics.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> or one of its required tensors is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype or device is wrong, an option is invalid (or an entropy option is set: not supported here), or a valid position holds NaN or infinity (of the inputs, or of the log-probs the hidden states give).</exception>
    /// <exception cref="ArgumentOutOfRangeException">The temperature is not finite and positive, the chunk size is less than 1, or a target id is outside [0, V).</exception>
    public static PolicyLossResult Compute(FusedLinearPolicyLossInputs inputs, PolicyLossOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        options ??= Defaults;
        options.ValidatedKernel(); // validated once per change of settings; the kernel it names is not used here
        if (EntropyTerms.Active(options))
        {
            throw new ArgumentException(
                "EntropyCoefficient > 0 and TopEntropyQuantile < 1 are not supported by the fused linear policy loss (the top-entropy mask needs every token's entropy before the first chunk's gradient); compute the log-probs and the entropy with TokenLogProbs.FromHiddenStates(..., out entropy) and the loss with PolicyLoss.Compute.",
                nameof(options));
        }

        TokenLogProbValidation.ValidateHiddenStates(
            inputs.Hidden, inputs.Weight, inputs.Targets, inputs.Bias, inputs.Temperature, inputs.ChunkSize, inputs.Shift);

        using var scope = NewDisposeScope();
        long batch = inputs.Targets.shape[0];
        long time = inputs.Targets.shape[1];
        var compute = inputs.Hidden.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        var logProbs = empty([batch, time], compute, inputs.Hidden.device);
        var lossInputs = new PolicyLossInputs
        {
            LogProbs = logProbs,
            Advantages = inputs.Advantages,
            Mask = inputs.Mask,
            OldLogProbs = inputs.OldLogProbs,
            ReferenceLogProbs = inputs.ReferenceLogProbs,
            SamplerLogProbs = inputs.SamplerLogProbs,
        };
        PolicyLossValidation.Validate(lossInputs, options);

        bool grad = is_grad_enabled();
        var call = new FusedLinearPolicyLossCall(
            inputs,
            lossInputs,
            options,
            NeedHidden: grad && inputs.Hidden.requires_grad,
            NeedWeight: grad && inputs.Weight.requires_grad,
            NeedBias: grad && inputs.Bias?.requires_grad == true);
        Tensor loss;
        if (call.NeedHidden || call.NeedWeight || call.NeedBias)
        {
            loss = FusedLinearPolicyLossFunction.apply(
                inputs.Hidden.view(inputs.Hidden.shape), inputs.Weight.view(inputs.Weight.shape), inputs.Bias?.view(inputs.Bias.shape)!, call);
        }
        else
        {
            using var noGrad = no_grad();
            loss = FusedLinearPolicyLossKernel.Run(call).Loss;
        }

        var statistics = FusedTensorPolicyLoss.Statistics(call.Summary!, call.Layout!, lossInputs, options);
        return new PolicyLossResult(loss.MoveToOuterDisposeScope(), statistics);
    }
}
