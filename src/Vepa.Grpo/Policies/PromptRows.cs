using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>The prompt side of one batched forward pass: prefix, left-padded prompt ids, their mask and the prompt of every row.</summary>
/// <param name="Prefix">The prefix [rows, P, H], or <see langword="null"/>.</param>
/// <param name="PrefixLength">P (0 without a prefix).</param>
/// <param name="Ids">The prompt ids [rows, L], left-padded to the longest prompt.</param>
/// <param name="Mask">The mask [rows, P + L] (int64 0/1) over prefix and prompt, or <see langword="null"/> for a module without masks (no padding then).</param>
/// <param name="Prompts">The prompt of each row.</param>
internal sealed record PromptRows(Tensor? Prefix, long PrefixLength, Tensor Ids, Tensor? Mask, IReadOnlyList<PolicyPrompt> Prompts)
{
    /// <summary>Gets P + L, the positions before the first completion token.</summary>
    public long Context => PrefixLength + Ids.shape[1];

    /// <summary>Returns Hugging Face's position ids for a mask: the running count of real positions − 1, pads set to 1.</summary>
    public static Tensor PositionsOf(Tensor mask)
    {
        using var scope = NewDisposeScope();
        var positions = mask.cumsum(-1) - 1;
        return positions.masked_fill(mask.eq(0), 1).MoveToOuterDisposeScope();
    }
}
