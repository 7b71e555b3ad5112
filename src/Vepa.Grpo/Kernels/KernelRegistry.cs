namespace Vepa.Grpo.Kernels;

/// <summary>
/// Kernels by name, per contract: the set the correctness gate checks, the benchmark harness times, and training runs.
/// <see cref="CreateDefault"/> holds Vepa's own kernels; add yours with <see cref="Add(IPolicyLossKernel)"/> and its overloads.
/// </summary>
/// <remarks>
/// <para>The policy loss is chosen by name: <see cref="PolicyLossOptions.Kernel"/> names a kernel of
/// <see cref="PolicyLossOptions.Kernels"/> (this registry, or Vepa's when <see langword="null"/>), so a kernel you register
/// here trains as well as being gated and timed. A trainer built through dependency injection uses a
/// <see cref="KernelRegistry"/> registered in the container.</para>
/// <para>Names are unique per contract (ordinal, case-insensitive); a registered kernel is never removed. Not thread-safe for
/// concurrent additions.</para>
/// </remarks>
[System.Diagnostics.CodeAnalysis.Experimental(KernelContracts.ExperimentalDiagnosticId)]
public sealed class KernelRegistry
{
    private readonly List<IPolicyLossKernel> _policyLoss = [];
    private readonly List<ITokenLogProbKernel> _tokenLogProbs = [];
    private readonly List<IAdvantageKernel> _advantages = [];
    private readonly List<ILinearPolicyLossKernel> _linear = [];

    /// <summary>Gets the registered policy-loss kernels, in registration order.</summary>
    public IReadOnlyList<IPolicyLossKernel> PolicyLossKernels => _policyLoss;

    /// <summary>Gets the registered token log-prob kernels, in registration order.</summary>
    public IReadOnlyList<ITokenLogProbKernel> TokenLogProbKernels => _tokenLogProbs;

    /// <summary>Gets the registered linear (hidden states → loss) policy-loss kernels, in registration order.</summary>
    public IReadOnlyList<ILinearPolicyLossKernel> LinearPolicyLossKernels => _linear;

    /// <summary>Gets the registered advantage kernels, in registration order.</summary>
    public IReadOnlyList<IAdvantageKernel> AdvantageKernels => _advantages;

    /// <summary>Gets the registry <see cref="PolicyLossOptions.Kernel"/> is looked up in when <see cref="PolicyLossOptions.Kernels"/> is <see langword="null"/>: Vepa's kernels, never added to.</summary>
    internal static KernelRegistry Default { get; } = CreateDefault();

    /// <summary>Creates a registry holding Vepa's kernels: policy loss "fused-tensor", "managed" and "auto"; token log-probs
    /// "chunked" and "overwriting"; advantages "tensor" and "managed"; linear policy loss "fused-linear"; and the fused CUDA
    /// kernels: policy loss "cuda", token log-probs "cuda" and "cuda-overwriting", advantages "cuda" (each runs the tensor
    /// kernels where CUDA cannot run, and logs that choice once).</summary>
    /// <returns>A new registry.</returns>
    public static KernelRegistry CreateDefault()
    {
        var registry = new KernelRegistry();
        registry.Add(BuiltInPolicyLossKernel.FusedTensor);
        registry.Add(BuiltInPolicyLossKernel.Managed);
        registry.Add(BuiltInPolicyLossKernel.Auto);
        registry.Add(new BuiltInTokenLogProbKernel("chunked", overwrite: false));
        registry.Add(new BuiltInTokenLogProbKernel("overwriting", overwrite: true));
        registry.Add(new BuiltInAdvantageKernel("tensor", AdvantageKernel.Tensor));
        registry.Add(new BuiltInAdvantageKernel("managed", AdvantageKernel.Managed));
        registry.Add(new BuiltInLinearPolicyLossKernel());
        Cuda.CudaKernels.AddTo(registry);
        return registry;
    }

    /// <summary>Registers a policy-loss kernel.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="kernel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The name is empty or already registered for this contract.</exception>
    public KernelRegistry Add(IPolicyLossKernel kernel) => Add(_policyLoss, kernel, kernel?.Name);

    /// <summary>Finds the policy-loss kernel registered under a name (ordinal, case-insensitive).</summary>
    /// <param name="name">The name, e.g. "managed".</param>
    /// <returns>The kernel, or <see langword="null"/> when none has that name.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="name"/> is <see langword="null"/>.</exception>
    public IPolicyLossKernel? FindPolicyLossKernel(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        foreach (IPolicyLossKernel kernel in _policyLoss)
        {
            if (string.Equals(kernel.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                return kernel;
            }
        }

        return null;
    }

    /// <summary>Registers a token log-prob kernel.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="kernel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The name is empty or already registered for this contract.</exception>
    public KernelRegistry Add(ITokenLogProbKernel kernel) => Add(_tokenLogProbs, kernel, kernel?.Name);

    /// <summary>Registers an advantage kernel.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="kernel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The name is empty or already registered for this contract.</exception>
    public KernelRegistry Add(IAdvantageKernel kernel) => Add(_advantages, kernel, kernel?.Name);

    /// <summary>Registers a linear (hidden states → loss) policy-loss kernel.</summary>
    /// <param name="kernel">The kernel.</param>
    /// <returns>This registry.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="kernel"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The name is empty or already registered for this contract.</exception>
    public KernelRegistry Add(ILinearPolicyLossKernel kernel) => Add(_linear, kernel, kernel?.Name);

    private KernelRegistry Add<T>(List<T> list, T kernel, string? name)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(kernel);
        if (string.IsNullOrWhiteSpace(name))
        {
            throw new ArgumentException("A kernel needs a non-empty Name.", nameof(kernel));
        }

        var existing = list.Cast<object>().Select(NameOf).FirstOrDefault(n => string.Equals(n, name, StringComparison.OrdinalIgnoreCase));
        if (existing is not null)
        {
            throw new ArgumentException($"A {typeof(T).Name} named '{name}' is already registered.", nameof(kernel));
        }

        list.Add(kernel);
        return this;
    }

    private static string NameOf(object kernel) => kernel switch
    {
        IPolicyLossKernel k => k.Name,
        ITokenLogProbKernel k => k.Name,
        IAdvantageKernel k => k.Name,
        ILinearPolicyLossKernel k => k.Name,
        _ => string.Empty,
    };
}
