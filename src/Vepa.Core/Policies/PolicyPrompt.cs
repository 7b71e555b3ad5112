using TorchSharp;

namespace Vepa;

/// <summary>
/// One training item as a policy sees it: the question, its gold answer (for the reward), optional choices, and the model
/// inputs (prompt token ids, and optionally a tensor such as an image or precomputed prefix embeddings).
/// </summary>
/// <remarks>
/// <para>The constructor validates the text fields the way <see cref="RewardRequest"/> does, so a bad item is rejected where it
/// is built rather than deep inside a training step.</para>
/// <para><b>Tensor lifetime.</b> A prompt does not own <see cref="Inputs"/>: the caller keeps the tensor alive (outside any dispose
/// scope that closes before training ends, for example with <c>DetachFromDisposeScope()</c>) for as long as the prompt is used,
/// and disposes it afterwards. Policies read it and never modify or dispose it.</para>
/// </remarks>
public sealed record PolicyPrompt
{
    private readonly IReadOnlyDictionary<string, torch.Tensor>? _modelInputs;

    /// <summary>Initializes a new instance of the <see cref="PolicyPrompt"/> class.</summary>
    /// <param name="question">The question the completion (the evidence) is written for. Must contain text.</param>
    /// <param name="goldAnswer">The reference answer the reward checks against. Must contain text.</param>
    /// <param name="promptTokenIds">The prompt's token ids as the policy's tokenizer encodes them (for example a BOS token, an instruction and the question); may be empty when <paramref name="inputs"/> supplies a prefix.</param>
    /// <param name="inputs">An optional model input: an image [C, H, W] for a policy that encodes images, or precomputed prefix embeddings [P, H]. Not owned by the prompt.</param>
    /// <param name="choices">The answer options of a multiple-choice item, or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="question"/>, <paramref name="goldAnswer"/> or <paramref name="promptTokenIds"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// <paramref name="question"/> or <paramref name="goldAnswer"/> is empty or white space; a token id is negative; or
    /// <paramref name="promptTokenIds"/> is empty and <paramref name="inputs"/> is <see langword="null"/> (the policy would have nothing to condition on).
    /// </exception>
    public PolicyPrompt(string question, string goldAnswer, IReadOnlyList<long> promptTokenIds, torch.Tensor? inputs = null, IReadOnlyList<string>? choices = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        ArgumentNullException.ThrowIfNull(goldAnswer);
        ArgumentNullException.ThrowIfNull(promptTokenIds);
        if (string.IsNullOrWhiteSpace(question))
        {
            throw new ArgumentException($"The question must contain text; got \"{question}\" (empty or white space only).", nameof(question));
        }

        if (string.IsNullOrWhiteSpace(goldAnswer))
        {
            throw new ArgumentException($"The gold answer must contain text; got \"{goldAnswer}\" (empty or white space only).", nameof(goldAnswer));
        }

        for (int i = 0; i < promptTokenIds.Count; i++)
        {
            if (promptTokenIds[i] < 0)
            {
                throw new ArgumentException($"Token ids must be >= 0; promptTokenIds[{i}] is {promptTokenIds[i]}.", nameof(promptTokenIds));
            }
        }

        if (promptTokenIds.Count == 0 && inputs is null)
        {
            throw new ArgumentException("A prompt needs at least one token id or an inputs tensor (an image or prefix embeddings); got neither.", nameof(promptTokenIds));
        }

        Question = question;
        GoldAnswer = goldAnswer;
        PromptTokenIds = promptTokenIds.ToArray();
        Inputs = inputs;
        Choices = choices;
    }

    /// <summary>Gets the question.</summary>
    public string Question { get; }

    /// <summary>Gets the gold (reference) answer.</summary>
    public string GoldAnswer { get; }

    /// <summary>Gets the options of a multiple-choice item, or <see langword="null"/>.</summary>
    public IReadOnlyList<string>? Choices { get; }

    /// <summary>Gets the prompt's token ids (a copy taken at construction).</summary>
    public IReadOnlyList<long> PromptTokenIds { get; }

    /// <summary>Gets the optional model input tensor (an image [C, H, W] or prefix embeddings [P, H]); not owned by the prompt.</summary>
    public torch.Tensor? Inputs { get; }

    /// <summary>
    /// Gets named model inputs a module reads from the prompt, as a Hugging Face processor returns them: for Qwen2-VL
    /// <c>pixel_values</c> [patches, C·T·P·P] and <c>image_grid_thw</c> [images, 3] of the images whose placeholder tokens are in
    /// <see cref="PromptTokenIds"/>. <see langword="null"/> for none. Not owned by the prompt (the lifetime rule of <see cref="Inputs"/> applies).
    /// </summary>
    /// <exception cref="ArgumentException">A name is empty or a tensor is <see langword="null"/>.</exception>
    public IReadOnlyDictionary<string, torch.Tensor>? ModelInputs
    {
        get => _modelInputs;
        init
        {
            if (value is not null)
            {
                foreach (var (name, tensor) in value)
                {
                    if (string.IsNullOrWhiteSpace(name) || tensor is null)
                    {
                        throw new ArgumentException($"Model inputs need a non-empty name and a tensor; got \"{name}\" = {(tensor is null ? "null" : "a tensor")}.", nameof(ModelInputs));
                    }
                }
            }

            _modelInputs = value;
        }
    }

    /// <summary>Gets an identifier the caller uses to correlate rollouts and rewards with items; copied to the reward requests.</summary>
    public string? Id { get; init; }

    /// <summary>Gets free-form metadata (image id, data source, …), copied to the reward requests.</summary>
    public IReadOnlyDictionary<string, object?>? Metadata { get; init; }
}
