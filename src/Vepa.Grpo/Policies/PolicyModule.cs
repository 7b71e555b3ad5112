using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The contract a TorchSharp model implements to become a policy through <see cref="TorchPolicy"/>: (optional prefix embeddings,
/// such as image patch embeddings, + token ids, optionally padded with an attention mask and carrying interleaved images)
/// → hidden states, and an LM head. The adapter does the rest (batched sampling,
/// KV-cached decoding, fused log-probs, reference copies, state).
/// </summary>
/// <remarks>
/// <para><b>Causality.</b> The hidden state at a position may depend only on that position and the ones before it (prefix
/// positions first, then tokens). The adapter relies on it: completions are scored in one forward pass over prompt + completion.</para>
/// <para><b>Two ways to implement it.</b> A simple module overrides <see cref="Forward(Tensor?, Tensor, KeyValueCache?)"/>: the
/// adapter then batches only prompts of equal length (and equal input shape), with no padding. A module that overrides
/// <see cref="SupportsAttentionMask"/> to return <see langword="true"/> overrides <see cref="Forward(PolicyForwardInputs)"/> instead and
/// receives left-padded prompts of any lengths in one batch, with an attention mask and position ids
/// (<see cref="PolicyForwardInputs"/>), and the prompt of every row.</para>
/// <para><b>A vision-language policy with a prefix</b> overrides <see cref="EncodePrefix"/> to stack the prompts' images (<see cref="PolicyPrompt.Inputs"/>,
/// [C, H, W] each) and run its patch encoder, returning [N, P, H] visual prefix embeddings; <see cref="Forward(Tensor?, Tensor, KeyValueCache?)"/> then prepends them
/// to the token embeddings. The encoder's parameters are ordinary submodules, so they are trained, copied and saved with the rest.</para>
/// <para><b>A vision-language policy with interleaved images</b> (Qwen2-VL: <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;×N&lt;|vision_end|&gt;</c>
/// inside the chat-formatted prompt) supports masks, reads each row's images from <see cref="PolicyPrompt.ModelInputs"/> of
/// <see cref="PolicyForwardInputs.Prompts"/> on the first pass, scatters the image features into the placeholder positions of its
/// input embeddings (prompt columns only, <see cref="PolicyForwardInputs.PromptLength"/>), and computes its own position ids; on
/// cached decoding steps it places each token with the per-row offset it kept in <see cref="KeyValueCache.PositionOffset"/> (the
/// rope delta, added to the cache position).</para>
/// <para><b>KV cache.</b> A module that overrides <see cref="SupportsKeyValueCache"/> to return <see langword="true"/> receives a
/// <see cref="KeyValueCache"/> while sampling; each attention layer appends its new keys and values with
/// <see cref="KeyValueCache.Append"/> and attends over what that returns, and positions start at <see cref="KeyValueCache.Length"/>
/// (read before appending) or come from <see cref="PolicyForwardInputs.PositionIds"/>. Without one the adapter recomputes the whole
/// sequence at every new token; both paths must give the same hidden states.</para>
/// <para><b>Vocabulary.</b> The LM head may have more rows than the tokenizer has ids (checkpoints pad the head, for example
/// Qwen's 151,936 rows); the policy's distribution is the softmax over the tokenizer's ids only, so padded rows are never sampled,
/// scored or trained.</para>
/// <para>Register submodules and parameters with <c>RegisterComponents()</c> in the derived constructor, as for any TorchSharp module.</para>
/// </remarks>
public abstract class PolicyModule : nn.Module
{
    /// <summary>Initializes a new instance of the <see cref="PolicyModule"/> class.</summary>
    /// <param name="name">The module's name.</param>
    protected PolicyModule(string name)
        : base(name)
    {
    }

    /// <summary>Gets the LM head's weight [V, H] (it may be tied to the token embedding).</summary>
    public abstract Tensor LmHeadWeight { get; }

    /// <summary>Gets the LM head's bias [V], or <see langword="null"/> for none.</summary>
    /// <value>The default is <see langword="null"/>.</value>
    public virtual Tensor? LmHeadBias => null;

    /// <summary>Gets whether <see cref="Forward(PolicyForwardInputs)"/> supports incremental decoding with a <see cref="KeyValueCache"/>.</summary>
    /// <value>The default is <see langword="false"/> (the adapter recomputes).</value>
    public virtual bool SupportsKeyValueCache => false;

    /// <summary>Gets whether <see cref="Forward(PolicyForwardInputs)"/> honours <see cref="PolicyForwardInputs.AttentionMask"/> and <see cref="PolicyForwardInputs.PositionIds"/>, so prompts of different lengths share one left-padded batch.</summary>
    /// <value>The default is <see langword="false"/>: the adapter batches only prompts of equal length and passes no mask.</value>
    public virtual bool SupportsAttentionMask => false;

    /// <summary>Encodes the prompts' <see cref="PolicyPrompt.Inputs"/> into prefix embeddings, one row per prompt.</summary>
    /// <param name="prompts">The prompts, all with inputs of one shape (the adapter groups them so).</param>
    /// <returns>The prefix [N, P, H] for N prompts, or <see langword="null"/> for no prefix. Differentiable w.r.t. the module's parameters.</returns>
    /// <remarks>
    /// The default returns <see langword="null"/> when no prompt has inputs, and otherwise stacks the inputs, which must then be
    /// precomputed prefix embeddings [P, H] (in the dtype and on the device of the LM head). Override it to encode images.
    /// </remarks>
    /// <exception cref="ArgumentException">Some prompts have inputs and others do not, or an input is not [P, H].</exception>
    public virtual Tensor? EncodePrefix(IReadOnlyList<PolicyPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        int withInputs = prompts.Count(p => p.Inputs is not null);
        if (withInputs == 0)
        {
            return null;
        }

        if (withInputs != prompts.Count)
        {
            throw new ArgumentException($"Either every prompt of a batch has inputs or none has; {withInputs} of {prompts.Count} have.", nameof(prompts));
        }

        for (int i = 0; i < prompts.Count; i++)
        {
            var inputs = prompts[i].Inputs!;
            if (inputs.dim() != 2 || inputs.shape[1] != LmHeadWeight.shape[1])
            {
                throw new ArgumentException(
                    $"{GetType().Name} does not override EncodePrefix, so prompt inputs must be prefix embeddings [P, H = {LmHeadWeight.shape[1]}]; prompts[{i}].Inputs is [{string.Join(", ", inputs.shape)}].",
                    nameof(prompts));
            }
        }

        return stack(prompts.Select(p => p.Inputs!).ToArray()).to(LmHeadWeight.dtype, LmHeadWeight.device);
    }

    /// <summary>Computes the last hidden states of a batch, padded or not: the adapter's entry point.</summary>
    /// <param name="inputs">The token ids, the prompt of each row, the prefix, and (when <see cref="SupportsAttentionMask"/> is <see langword="true"/>) the attention mask and position ids; the cache while decoding.</param>
    /// <returns>Hidden states [B, P + L, H]: one per new position (prefix positions, then tokens); with a cache after the first pass, one per new token.</returns>
    /// <remarks>The default calls <see cref="Forward(Tensor?, Tensor, KeyValueCache?)"/> with the prefix, the token ids and the cache; it rejects a mask (a module that supports masks overrides this method).</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="inputs"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="inputs"/> carries an attention mask and this method is not overridden.</exception>
    public virtual Tensor Forward(PolicyForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.AttentionMask is not null)
        {
            throw new InvalidOperationException(
                $"{GetType().Name} returns SupportsAttentionMask = true but does not override Forward(PolicyForwardInputs), so the attention mask would be ignored; override it.");
        }

        return Forward(inputs.Prefix, inputs.TokenIds, inputs.Cache);
    }

    /// <summary>Computes the last hidden states of an unpadded batch (the simple form of the contract).</summary>
    /// <param name="prefix">Prefix embeddings [B, P, H] placed before the tokens, or <see langword="null"/> (always <see langword="null"/> for calls after the first one with a cache).</param>
    /// <param name="tokenIds">Token ids [B, L], int64 (L may be 0 when a prefix is given).</param>
    /// <param name="cache">The KV cache for incremental decoding, or <see langword="null"/> for a full pass. Never passed when <see cref="SupportsKeyValueCache"/> is <see langword="false"/>.</param>
    /// <returns>Hidden states [B, P + L, H]: one per input position (prefix positions, then tokens); with a cache, one per new position.</returns>
    /// <remarks>Override this one or <see cref="Forward(PolicyForwardInputs)"/>; the default throws.</remarks>
    /// <exception cref="NotSupportedException">Neither form of <c>Forward</c> is overridden.</exception>
    public virtual Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
        => throw new NotSupportedException($"{GetType().Name} must override Forward(Tensor?, Tensor, KeyValueCache?) or Forward(PolicyForwardInputs).");

    /// <summary>Creates a new module with the same architecture and sizes; its weights are overwritten by the adapter (reference copies).</summary>
    /// <returns>A new module on any device; the adapter moves it to the device and dtype of this one.</returns>
    public abstract PolicyModule CloneArchitecture();
}
