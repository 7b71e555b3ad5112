using TorchSharp;

namespace Vepa.Grpo;

/// <summary>Validated inputs of one advantage call: K reward components of one shape, dtype and device, viewed as P groups of G.</summary>
internal sealed class AdvantageBatch
{
    /// <summary>Initializes a new instance of the <see cref="AdvantageBatch"/> class.</summary>
    /// <param name="components">The reward components (one for a single reward tensor); never disposed.</param>
    /// <param name="weights">w_k, one per component.</param>
    /// <param name="groupCount">P.</param>
    /// <param name="groupSize">G.</param>
    /// <param name="paramName">The public parameter the tensors came in by, for error messages.</param>
    public AdvantageBatch(torch.Tensor[] components, double[] weights, int groupCount, int groupSize, string paramName)
    {
        Components = components;
        Weights = weights;
        GroupCount = groupCount;
        GroupSize = groupSize;
        ParamName = paramName;
        Shape = components[0].shape;
        DType = components[0].dtype;
        Device = components[0].device;
    }

    /// <summary>Gets the reward components r_k.</summary>
    public torch.Tensor[] Components { get; }

    /// <summary>Gets w_k.</summary>
    public double[] Weights { get; }

    /// <summary>Gets P.</summary>
    public int GroupCount { get; }

    /// <summary>Gets G.</summary>
    public int GroupSize { get; }

    /// <summary>Gets P·G.</summary>
    public int Count => GroupCount * GroupSize;

    /// <summary>Gets the shape of the rewards ([P, G] or [P·G]).</summary>
    public long[] Shape { get; }

    /// <summary>Gets the dtype of the rewards.</summary>
    public torch.ScalarType DType { get; }

    /// <summary>Gets the device of the rewards.</summary>
    public torch.Device Device { get; }

    /// <summary>Gets the public parameter name ("rewards" or "components").</summary>
    public string ParamName { get; }

    /// <summary>Gets whether there is a single component with weight 1 (plain rewards).</summary>
    public bool IsPlain => Components.Length == 1 && Weights[0] == 1.0;

    /// <summary>
    /// Tells whether the components are normalised one by one before they are summed (<see cref="RewardCombination.NormalizeThenSum"/>
    /// with two or more components). A single reward has nothing to combine: it is normalised by <see cref="AdvantageOptions.Normalization"/>
    /// alone whatever <see cref="AdvantageOptions.Combination"/> says, as the CUDA kernel always did.
    /// </summary>
    /// <param name="options">The call's options.</param>
    /// <returns><see langword="true"/> for normalise-then-sum over two or more components.</returns>
    public bool NormalizesComponentsFirst(AdvantageOptions options)
        => Components.Length > 1 && options.Combination == RewardCombination.NormalizeThenSum;

    /// <summary>Gets the name of component <paramref name="k"/> in messages.</summary>
    /// <param name="k">The component index.</param>
    /// <returns>"rewards" for the single-tensor overload, otherwise "components[k]".</returns>
    public string NameOf(int k) => ParamName == "rewards" ? "rewards" : $"{ParamName}[{k}]";
}
