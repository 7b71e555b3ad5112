namespace Vepa.Grpo.Kernels;

/// <summary>
/// A policy-loss implementation that the <see cref="KernelRegistry"/>, the correctness gate and the benchmark harness can run
/// by name: Vepa's own kernels, a custom CUDA kernel, another formula, or a reference exported from Python.
/// </summary>
/// <remarks>
/// <para><b>Contract.</b> Inputs: <see cref="PolicyLossInputs"/> (already validated) and <see cref="PolicyLossOptions"/>.
/// Outputs: a <see cref="PolicyLossResult"/> whose <see cref="PolicyLossResult.Loss"/> is a scalar that autograd can
/// differentiate w.r.t. <see cref="PolicyLossInputs.LogProbs"/> (the gradient is the third output the gate checks), and its
/// <see cref="PolicyLossResult.Statistics"/>. The kernel must not dispose its inputs; the caller owns the result.</para>
/// <para>A kernel that cannot run a case (an option it does not implement, a device or dtype) returns
/// <see langword="false"/> from <see cref="Supports"/>; the gate reports such cases as skipped, never as passed. That includes the
/// entropy terms (<see cref="PolicyLossOptions.EntropyCoefficient"/> &gt; 0, <see cref="PolicyLossOptions.TopEntropyQuantile"/> &lt; 1):
/// they run inside Vepa's own kernels only, so a kernel of yours that does not compute them from
/// <see cref="PolicyLossInputs.Entropy"/> itself must refuse them, or it would train without them.</para>
/// <para><b>Training with it.</b> Register it in a <see cref="KernelRegistry"/>, set <see cref="PolicyLossOptions.Kernels"/> to
/// that registry and <see cref="PolicyLossOptions.Kernel"/> to its <see cref="Name"/>: <see cref="PolicyLoss.Compute"/> (and so
/// the trainer) validates the inputs and options, asks <see cref="Supports"/> (a <see langword="false"/> fails the call with the
/// reason), then calls <see cref="Compute"/>. A kernel that delegates to <see cref="PolicyLoss.Compute"/> passes a copy of the
/// options whose <see cref="PolicyLossOptions.Kernel"/> names another kernel (or is <see langword="null"/>).</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public interface IPolicyLossKernel
{
    /// <summary>Gets the name the kernel is registered, filtered and reported under (e.g. "managed").</summary>
    string Name { get; }

    /// <summary>Tells whether the kernel implements these options on these inputs.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The options.</param>
    /// <param name="reason">Why not, or <see langword="null"/>.</param>
    /// <returns><see langword="true"/> when <see cref="Compute"/> handles the case.</returns>
    bool Supports(PolicyLossInputs inputs, PolicyLossOptions options, out string? reason);

    /// <summary>Computes the loss (differentiable w.r.t. the log-probs) and its statistics.</summary>
    /// <param name="inputs">The inputs.</param>
    /// <param name="options">The options.</param>
    /// <returns>The loss and its statistics.</returns>
    PolicyLossResult Compute(PolicyLossInputs inputs, PolicyLossOptions options);
}
