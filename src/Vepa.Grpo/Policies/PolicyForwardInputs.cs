using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// What <see cref="TorchPolicy"/> passes to <see cref="PolicyModule.Forward(PolicyForwardInputs)"/>: the token ids and, for a module
/// that handles padding (<see cref="PolicyModule.SupportsAttentionMask"/>), the attention mask and the position ids; the prefix; the
/// prompt of every row (so a multimodal module can read its <see cref="PolicyPrompt.ModelInputs"/>); and the KV cache.
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> A row's positions are: its prefix (<see cref="Prefix"/>, P positions), then its tokens. Prompts of
/// different lengths are <em>left</em>-padded to the longest, so every row's last prompt token sits at the same position and the
/// completion tokens follow; pad positions are 0 in <see cref="AttentionMask"/>. Completions are right-padded after their stop
/// token; those positions come after every real one, so causality keeps them out of the real positions' hidden states.</para>
/// <para><b>Positions.</b> <see cref="PositionIds"/> number each row's real positions 0, 1, 2, … (prefix positions included),
/// skipping pads, which get 1: Hugging Face's <c>position_ids = attention_mask.cumsum(-1) - 1</c> with pads filled with 1. A
/// module with its own position scheme (Qwen2-VL's 3-row multimodal RoPE) computes its own on the first pass and keeps a per-row
/// offset in <see cref="KeyValueCache.PositionOffset"/> to place the tokens of cached decoding steps.</para>
/// <para>The adapter owns every tensor here; a module reads them and never disposes or modifies them.</para>
/// </remarks>
public sealed class PolicyForwardInputs
{
    private readonly long _promptLength;

    /// <summary>Initializes a new instance of the <see cref="PolicyForwardInputs"/> class.</summary>
    /// <param name="tokenIds">The token ids [B, L], int64: the (left-padded) prompt, possibly followed by completion tokens; with a cache after the first pass, the new tokens only.</param>
    /// <param name="prompts">The prompt of each of the B rows.</param>
    /// <exception cref="ArgumentNullException"><paramref name="tokenIds"/> or <paramref name="prompts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="tokenIds"/> is not [B, L] int64 with B = <paramref name="prompts"/>.Count.</exception>
    public PolicyForwardInputs(Tensor tokenIds, IReadOnlyList<PolicyPrompt> prompts)
    {
        ArgumentNullException.ThrowIfNull(tokenIds);
        ArgumentNullException.ThrowIfNull(prompts);
        if (tokenIds.dim() != 2 || tokenIds.dtype != ScalarType.Int64 || tokenIds.shape[0] != prompts.Count)
        {
            throw new ArgumentException(
                $"tokenIds must be [B = prompts.Count = {prompts.Count}, L] int64; got [{string.Join(", ", tokenIds.shape)}] {tokenIds.dtype}.", nameof(tokenIds));
        }

        TokenIds = tokenIds;
        Prompts = prompts;
        _promptLength = tokenIds.shape[1];
    }

    /// <summary>Gets the token ids [B, L], int64 (L may be 0 on a first pass when a prefix is given).</summary>
    public Tensor TokenIds { get; }

    /// <summary>Gets the prompt of each row (B entries; rows of one prompt's group repeat it).</summary>
    public IReadOnlyList<PolicyPrompt> Prompts { get; }

    /// <summary>
    /// Gets how many leading columns of <see cref="TokenIds"/> hold the (left-padded) prompt; the columns after them are completion
    /// tokens. Only prompt columns may hold image placeholders: a completion token that happens to be a placeholder id (a
    /// sampled <c>&lt;|image_pad|&gt;</c>) is plain text to the module, so sampling and scoring agree.
    /// </summary>
    /// <value>The default is every column (a pass over prompts only); 0 on cached decoding steps.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative or more than the number of columns.</exception>
    public long PromptLength
    {
        get => _promptLength;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(value, TokenIds.shape[1]);
            _promptLength = value;
        }
    }

    /// <summary>Gets the prefix embeddings [B, P, H] placed before the tokens (from <see cref="PolicyModule.EncodePrefix"/>), or <see langword="null"/>; always <see langword="null"/> on cached decoding steps.</summary>
    public Tensor? Prefix { get; init; }

    /// <summary>
    /// Gets the attention mask [B, K], int64 0/1, over <em>every</em> position the row has so far: cached ones, the prefix, and the
    /// new tokens (K = cached + P + L); 0 marks padding. <see langword="null"/> when the module does not support masks
    /// (<see cref="PolicyModule.SupportsAttentionMask"/>): then no row is padded.
    /// </summary>
    public Tensor? AttentionMask { get; init; }

    /// <summary>Gets the position ids [B, P + L], int64, of the new positions (prefix and tokens), counted over real positions only; pads get 1. <see langword="null"/> with <see cref="AttentionMask"/>.</summary>
    public Tensor? PositionIds { get; init; }

    /// <summary>Gets the KV cache for incremental decoding, or <see langword="null"/> for a full pass.</summary>
    public KeyValueCache? Cache { get; init; }
}
