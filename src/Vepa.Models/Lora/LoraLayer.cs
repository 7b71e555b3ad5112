using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// One LoRA adapter on a linear layer with weight W [out, in]: <c>lora_A</c> [r, in] and <c>lora_B</c> [out, r] (bias-free linear
/// layers, PEFT's names), the input dropout and the scale α / r. The host layer registers them as its children (so their state names
/// are <c>…q_proj.lora_A.weight</c>) and adds <see cref="AddTo"/> to its output.
/// </summary>
internal sealed class LoraLayer
{
    internal LoraLayer(string path, Parameter baseWeight, LoraOptions options, Generator? generator)
    {
        Path = path;
        BaseWeight = baseWeight;
        long output = baseWeight.shape[0], input = baseWeight.shape[1];
        A = nn.Linear(input, options.Rank, hasBias: false, device: baseWeight.device, dtype: baseWeight.dtype);
        B = nn.Linear(options.Rank, output, hasBias: false, device: baseWeight.device, dtype: baseWeight.dtype);
        Dropout = options.Dropout > 0 ? nn.Dropout(options.Dropout) : null;
        Scaling = options.Alpha / options.Rank;
        using (no_grad())
        {
            // PEFT's default: A as nn.Linear's own init, Kaiming-uniform with a = √5: bound = gain · √(3 / fan_in) with
            // gain = √(2 / (1 + a²)) = √(1/3), so U(−1/√in, 1/√in). B zero, so ΔW = 0 at the start.
            double gain = Math.Sqrt(2.0 / (1 + 5.0));
            double bound = gain * Math.Sqrt(3.0 / input);
            A.weight!.uniform_(-bound, bound, generator);
            nn.init.zeros_(B.weight!);
        }
    }

    /// <summary>Gets the host layer's module path.</summary>
    internal string Path { get; }

    /// <summary>Gets the host layer's weight W [out, in].</summary>
    internal Parameter BaseWeight { get; }

    /// <summary>Gets A: the linear map in → r.</summary>
    internal Linear A { get; }

    /// <summary>Gets B: the linear map r → out.</summary>
    internal Linear B { get; }

    /// <summary>Gets the dropout on the adapter's input, or <see langword="null"/> for none.</summary>
    internal Dropout? Dropout { get; }

    /// <summary>Gets α / r.</summary>
    internal double Scaling { get; }

    /// <summary>Gets or sets whether the host adds the adapter (adapters enabled and not merged into W).</summary>
    internal bool Active { get; set; } = true;

    /// <summary>Returns <paramref name="result"/> + (α / r) · B A dropout(<paramref name="input"/>) when active, else <paramref name="result"/>.</summary>
    internal Tensor AddTo(Tensor result, Tensor input)
    {
        if (!Active)
        {
            return result;
        }

        var x = Dropout is null ? input : Dropout.forward(input);
        return result.add(B.forward(A.forward(x)), alpha: Scaling);
    }

    /// <summary>Registers A, B (and the dropout) as <paramref name="host"/>'s children <c>lora_A</c>, <c>lora_B</c>, <c>lora_dropout</c>.</summary>
    /// <param name="host">The layer that adds this adapter to its output.</param>
    /// <param name="existing">The host's adapter so far; a second one is refused.</param>
    /// <returns>This adapter, for the host to keep.</returns>
    internal LoraLayer RegisterOn(nn.Module host, LoraLayer? existing)
    {
        if (existing is not null)
        {
            throw new InvalidOperationException($"The layer '{Path}' already has a LoRA adapter.");
        }

        host.register_module("lora_A", A);
        host.register_module("lora_B", B);
        if (Dropout is not null)
        {
            host.register_module("lora_dropout", Dropout);
        }

        return this;
    }

    /// <summary>Returns whether a parameter name is a LoRA adapter's (<c>….lora_A.weight</c> or <c>….lora_B.weight</c>), which Hugging Face snapshots leave out.</summary>
    internal static bool IsAdapterParameter(string name) =>
        name.EndsWith(".lora_A.weight", StringComparison.Ordinal) || name.EndsWith(".lora_B.weight", StringComparison.Ordinal);

    /// <summary>Computes (α / r) · B A [out, in] in <paramref name="dtype"/>.</summary>
    internal Tensor Delta(ScalarType dtype) => B.weight!.to(dtype).matmul(A.weight!.to(dtype)).mul(Scaling);
}
