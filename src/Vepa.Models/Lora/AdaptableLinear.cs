using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// A linear layer <c>y = x·Wᵀ + b</c> that can take a LoRA adapter. Use it in your own <see cref="Grpo.PolicyModule"/> where you would
/// use <c>nn.Linear</c>, and <see cref="LoraPolicy"/> (or <see cref="LoraAdapters.Apply"/>) can target it by its name, as PEFT targets
/// <c>nn.Linear</c> layers.
/// </summary>
/// <remarks>
/// <para>TorchSharp's <c>Linear</c> is sealed and modules hold it in typed fields, so an adapter cannot be slipped in from outside; this
/// layer adds it to its own output. Its parameters are named as <c>nn.Linear</c>'s (<c>weight</c> [out, in], <c>bias</c> [out]), so a
/// state saved from a module built with <c>nn.Linear</c> loads into the same module built with this layer, and back.</para>
/// <para>Initialised as <c>nn.Linear</c> is (PyTorch's rule): weight and bias uniform in [−1/√in, 1/√in], from TorchSharp's default
/// generator (so <c>torch.manual_seed</c> fixes them).</para>
/// </remarks>
public sealed class AdaptableLinear : nn.Module<Tensor, Tensor>, ILoraHost
{
#pragma warning disable IDE1006, SA1307, SA1309 // Field names are the parameter names (TorchSharp registers fields by name).
    private readonly Parameter weight;
    private readonly Parameter? bias;
#pragma warning restore IDE1006, SA1307, SA1309
    private LoraLayer? _lora;

    /// <summary>Initializes a new instance of the <see cref="AdaptableLinear"/> class.</summary>
    /// <param name="inputSize">The input features (≥ 1).</param>
    /// <param name="outputSize">The output features (≥ 1).</param>
    /// <param name="hasBias">Whether the layer adds a bias.</param>
    /// <param name="device">The parameters' device; <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The parameters' dtype; <see langword="null"/> for TorchSharp's default (float32). Must be a floating-point type.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="inputSize"/> or <paramref name="outputSize"/> is below 1.</exception>
    /// <exception cref="ArgumentException"><paramref name="dtype"/> is not a floating-point type.</exception>
    public AdaptableLinear(long inputSize, long outputSize, bool hasBias = true, Device? device = null, ScalarType? dtype = null)
        : base(nameof(AdaptableLinear))
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputSize, 1);
        var type = dtype ?? get_default_dtype();
        if (type is not (ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Float32 or ScalarType.Float64))
        {
            throw new ArgumentException($"dtype must be a floating-point type; got {type}.", nameof(dtype));
        }

        double bound = 1.0 / Math.Sqrt(inputSize);
        weight = new Parameter(empty([outputSize, inputSize], type, device));
        if (hasBias)
        {
            bias = new Parameter(empty([outputSize], type, device));
        }

        using (no_grad())
        {
            weight.uniform_(-bound, bound);
            bias?.uniform_(-bound, bound);
        }

        RegisterComponents();
    }

    /// <summary>Gets the weight W [out, in].</summary>
    public Parameter Weight => weight;

    /// <summary>Gets the bias [out], or <see langword="null"/> without one.</summary>
    public Parameter? Bias => bias;

    /// <summary>Gets whether a LoRA adapter is attached (it adds to the output while the adapters are on and not merged).</summary>
    public bool HasAdapter => _lora is not null;

    /// <inheritdoc />
    LoraLayer? ILoraHost.Lora => _lora;

    /// <inheritdoc />
    public override Tensor forward(Tensor input)
    {
        var result = nn.functional.linear(input, weight, bias);
        return _lora is null ? result : _lora.AddTo(result, input);
    }

    /// <inheritdoc />
    void ILoraHost.Attach(LoraLayer lora) => _lora = lora.RegisterOn(this, _lora);
}
