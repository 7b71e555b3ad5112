using System.Globalization;
using System.Text;
using TorchSharp;
using TorchSharp.Modules;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// A ready-made policy over a Qwen snapshot folder: <see cref="FromPretrained"/> loads the model (Qwen2 / Qwen2.5 / Qwen3, or
/// Qwen2-VL with its image processor), its tokenizer, chat format and stop ids, and wraps it in a <see cref="TorchPolicy"/> (padded batched sampling with a KV cache,
/// fused log-probs, frozen reference copies). <see cref="CreatePrompt"/> builds VEPA prompts in the chat format, with the image's
/// <c>&lt;|image_pad|&gt;</c> run inside the user turn for Qwen2-VL;
/// <see cref="CreateSamplingOptions"/> gives sampling settings with the snapshot's stop ids; <see cref="SavePretrained"/> writes a
/// snapshot folder that transformers, vLLM and SGLang load.
/// </summary>
/// <remarks>
/// <para><b>Vocabulary.</b> Qwen checkpoints pad the LM head beyond the tokenizer's ids (151,936 rows for 151,665 ids, for
/// example). The policy samples and scores over the tokenizer's ids only: the padded rows have no text, so they are never
/// sampled, and the log-probs are a softmax over the real ids. Hugging Face's <c>generate</c> and vLLM use every row; the two
/// differ by log(1 − p_pad) per token, where p_pad is the probability the model gives the padded rows (negligible for released
/// checkpoints, whose padded rows were never a training target).</para>
/// <para>State names (<see cref="GetState"/>, the trainer's checkpoints) are the Hugging Face parameter names. Not thread-safe.</para>
/// </remarks>
public sealed class QwenPolicy : IPolicy
{
    private readonly QwenPolicyOptions _options;
    private readonly Qwen2VLImageProcessor? _processor;
    private readonly SamplingOptions _sampling;
    private bool _disposed;

    private QwenPolicy(TorchPolicy policy, nn.Module model, QwenTokenizer tokenizer, QwenChatTemplate template, SamplingOptions sampling, QwenPolicyOptions options, Qwen2VLImageProcessor? processor)
    {
        Policy = policy;
        Model = model;
        Tokenizer = tokenizer;
        ChatTemplate = template;
        _sampling = sampling;
        _options = options;
        _processor = processor;
    }

    /// <summary>Gets the adapter that implements the policy (sampling, log-probs, references).</summary>
    public TorchPolicy Policy { get; }

    /// <summary>Gets the model (its parameters are the policy's): a <see cref="QwenForCausalLM"/> or a <see cref="Qwen2VLForConditionalGeneration"/>.</summary>
    public nn.Module Model { get; }

    /// <summary>Gets whether prompts may carry an image (a Qwen2-VL snapshot).</summary>
    public bool SupportsImages => _processor is not null;

    /// <summary>Gets the tokenizer, whose <see cref="QwenTokenizer.VocabularySize"/> is its own number of ids (the ids the policy samples).</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>Gets the chat template prompts are rendered with (the snapshot's, or <see cref="QwenPolicyOptions.ChatTemplate"/>).</summary>
    public QwenChatTemplate ChatTemplate { get; }

    /// <summary>Gets the stop ids: <c>&lt;|im_end|&gt;</c> and <c>eos_token_id</c> of <c>generation_config.json</c>.</summary>
    public IReadOnlyList<long> StopTokenIds => [.. _sampling.StopTokenIds];

    /// <inheritdoc />
    public IRolloutSampler Sampler => Policy.Sampler;

    /// <inheritdoc />
    public IReadOnlyList<Parameter> TrainableParameters => Policy.TrainableParameters;

    /// <summary>Loads a Qwen2 / Qwen2.5 / Qwen3 or Qwen2-VL snapshot folder as a trainable policy.</summary>
    /// <param name="folder">The snapshot folder: <c>config.json</c>, safetensors weights, <c>generation_config.json</c>, <c>tokenizer.json</c> (and <c>tokenizer_config.json</c>; <c>preprocessor_config.json</c> for Qwen2-VL).</param>
    /// <param name="device">The device, or <see langword="null"/> for the CPU.</param>
    /// <param name="dtype">The weights' dtype (bf16 on a GPU); <see langword="null"/> for float32.</param>
    /// <param name="options">The settings; <see langword="null"/> uses the defaults.</param>
    /// <returns>The policy; dispose it.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid.</exception>
    /// <exception cref="SnapshotFormatException">A file of the snapshot is missing or invalid, or its <c>model_type</c> is not qwen2, qwen3 or qwen2_vl (the message names the file).</exception>
    /// <exception cref="FileNotFoundException">The folder has no <c>tokenizer.json</c>.</exception>
    public static QwenPolicy FromPretrained(string folder, Device? device = null, ScalarType? dtype = null, QwenPolicyOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        options = options?.Clone() ?? new QwenPolicyOptions();
        options.Validate();
        string tokenizerPath = Path.Combine(folder, "tokenizer.json");
        if (!File.Exists(tokenizerPath))
        {
            throw new FileNotFoundException($"The snapshot folder '{folder}' has no tokenizer.json; a policy needs the model's tokenizer.", tokenizerPath);
        }

        string configPath = Path.Combine(folder, "tokenizer_config.json");
        // The tokenizer's own ids (not the padded vocab_size): the policy samples and scores over these only.
        var tokenizer = QwenTokenizer.FromFiles(tokenizerPath, File.Exists(configPath) ? configPath : null);
        var template = options.ChatTemplate ?? QwenChatTemplate.FromPretrained(folder);
        var sampling = StopsAndPad(folder, tokenizer, options);
        var config = QwenConfig.FromFolder(folder);
        nn.Module model;
        PolicyModule module;
        Qwen2VLImageProcessor? processor = null;
        if (config.ModelType == "qwen2_vl")
        {
            processor = Qwen2VLImageProcessor.FromPretrained(folder);
            var vl = Qwen2VLForConditionalGeneration.FromPretrained(folder, device, dtype);
            vl.GradientCheckpointing = options.GradientCheckpointing;
            (model, module) = (vl, new QwenVLPolicyModule(vl));
        }
        else
        {
            var lm = QwenForCausalLM.FromPretrained(folder, device, dtype);
            lm.GradientCheckpointing = options.GradientCheckpointing;
            (model, module) = (lm, new QwenCausalPolicyModule(lm));
        }

        try
        {
            var policy = new TorchPolicy(
                module,
                tokenizer,
                new TorchPolicyOptions
                {
                    UseKeyValueCache = options.UseKeyValueCache,
                    LogProbChunkSize = options.LogProbChunkSize,
                    Seed = options.Seed,
                    PromptPadTokenId = tokenizer.PadTokenId ?? 0,
                });
            return new QwenPolicy(policy, model, tokenizer, template, sampling, options, processor);
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Builds a VEPA prompt: the evidence instruction for <paramref name="question"/> as one user turn in the chat format (after the
    /// image's <c>&lt;|vision_start|&gt;&lt;|image_pad|&gt;×N&lt;|vision_end|&gt;</c> when there is one), ending with the assistant header.
    /// </summary>
    /// <param name="question">The question (also what the reader answers).</param>
    /// <param name="goldAnswer">The reference answer the reward checks.</param>
    /// <param name="image">The image the evidence describes (Qwen2-VL only), or <see langword="null"/>.</param>
    /// <param name="choices">The options of a multiple-choice item, or <see langword="null"/>; listed after the question.</param>
    /// <param name="id">An identifier copied to the reward requests, or <see langword="null"/>.</param>
    /// <param name="context">Text placed before the instruction in the user turn (after the image), or <see langword="null"/>: a document, or the scene in words for a text-only model. The reader never sees it.</param>
    /// <returns>
    /// The prompt. With an image, its <see cref="PolicyPrompt.ModelInputs"/> hold <c>pixel_values</c> and <c>image_grid_thw</c> from
    /// the snapshot's image processor: tensors the caller disposes when the prompt is no longer used.
    /// </returns>
    /// <exception cref="ArgumentException"><paramref name="question"/> or <paramref name="goldAnswer"/> has no text.</exception>
    /// <exception cref="NotSupportedException">An image is given to a text-only model.</exception>
    public PolicyPrompt CreatePrompt(string question, string goldAnswer, RgbImage? image = null, IReadOnlyList<string>? choices = null, string? id = null, string? context = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(question);
        string user = string.IsNullOrEmpty(context) ? Instruction(question, choices) : context + "\n\n" + Instruction(question, choices);
        if (image is not null && _processor is null)
        {
            throw new NotSupportedException($"This policy's model ({Model.GetType().Name}) reads no images; load a Qwen2-VL snapshot to give prompts an image.");
        }

        var messages = new List<ChatMessage>();
        if (_options.SystemPrompt is not null)
        {
            messages.Add(ChatMessage.System(_options.SystemPrompt));
        }

        messages.Add(image is null ? ChatMessage.User(user) : ChatMessage.User(ChatContentPart.Image(), ChatContentPart.FromText(user)));
        // Content is encoded with special tokens split as text: a literal <|im_end|> in a question cannot end the turn.
        var ids = ChatTemplate.EncodePrompt(Tokenizer, messages, addGenerationPrompt: true, escapeSpecialTokensInContent: true);
        if (image is null)
        {
            return new PolicyPrompt(question, goldAnswer, ids, choices: choices) { Id = id };
        }

        var batch = _processor!.Process([image]);
        try
        {
            var grid = batch.ImageGridThw.data<long>().ToArray();
            int tokens = QwenChatTemplate.VisionTokenCount(grid[0], grid[1], grid[2], _processor.MergeSize);
            var promptIds = QwenChatTemplate.ExpandPads(ids, Tokenizer.GetTokenId("<|image_pad|>"), [tokens]);
            return new PolicyPrompt(question, goldAnswer, promptIds, choices: choices)
            {
                Id = id,
                ModelInputs = new Dictionary<string, Tensor>(StringComparer.Ordinal)
                {
                    [QwenVLPolicyModule.PixelValues] = batch.PixelValues,
                    [QwenVLPolicyModule.ImageGridThw] = batch.ImageGridThw,
                },
            };
        }
        catch
        {
            batch.Dispose();
            throw;
        }
    }

    /// <summary>Returns the user text of a prompt: the evidence instruction with the question and, for a multiple-choice item, its options.</summary>
    /// <param name="question">The question.</param>
    /// <param name="choices">The options, or <see langword="null"/>.</param>
    /// <returns>The text.</returns>
    public string Instruction(string question, IReadOnlyList<string>? choices = null)
    {
        ArgumentNullException.ThrowIfNull(question);
        var text = new StringBuilder(_options.EvidenceInstruction.Replace("{question}", question, StringComparison.Ordinal));
        if (choices is { Count: > 0 })
        {
            text.Append("\nOptions:");
            for (int i = 0; i < choices.Count; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"\n{(char)('A' + (i % 26))}. {choices[i]}");
            }
        }

        return text.ToString();
    }

    /// <summary>Returns sampling settings for GRPO rollouts: the snapshot's stop ids and pad id, and the options' temperature and length.</summary>
    /// <returns>A new instance; the caller may change it.</returns>
    public SamplingOptions CreateSamplingOptions() => _sampling.Clone();

    /// <summary>Saves the policy as a Hugging Face snapshot folder: safetensors with the published names, config, generation config, and the tokenizer files of the source folder.</summary>
    /// <param name="folder">The folder (created if needed).</param>
    /// <exception cref="InvalidOperationException">The model has LoRA adapters switched on and not merged (<see cref="LoraAdapters.Merge"/> first, or save inside <see cref="LoraAdapters.DisableAdapters"/>).</exception>
    public void SavePretrained(string folder)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(folder);
        LoraAdapters.ThrowIfActiveAdapters(Model);
        Directory.CreateDirectory(folder);
        if (Model is Qwen2VLForConditionalGeneration vl)
        {
            vl.SavePretrained(folder);
        }
        else
        {
            ((QwenForCausalLM)Model).SavePretrained(folder);
        }
    }

    /// <inheritdoc />
    public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options) => Policy.ComputeLogProbs(rollouts, options);

    /// <inheritdoc />
    public IPolicy CreateReference() => Policy.CreateReference();

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> GetState() => Policy.GetState();

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, Tensor> state) => Policy.LoadState(state);

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(Model) ? Model
            : Policy.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Policy.Dispose();
    }

    /// <summary>
    /// Sampling settings: the options' temperature and length; stop ids <c>&lt;|im_end|&gt;</c> (the end of an assistant turn) and the
    /// <c>eos_token_id</c>s of <c>generation_config.json</c> (else the tokenizer's EOS); its <c>pad_token_id</c> (else the tokenizer's).
    /// </summary>
    private static SamplingOptions StopsAndPad(string folder, QwenTokenizer tokenizer, QwenPolicyOptions options)
    {
        var sampling = new SamplingOptions { Temperature = options.Temperature, MaxNewTokens = options.MaxNewTokens };
        if (tokenizer.TryGetTokenId("<|im_end|>", out int imEnd))
        {
            sampling.StopTokenIds.Add(imEnd);
        }

        GenerationConfig? generation = File.Exists(Path.Combine(folder, "generation_config.json")) ? GenerationConfig.FromPretrained(folder) : null;

        // Without eos_token_id in generation_config.json (or without the file), the tokenizer's EOS is a stop, as in transformers.
        // Added before the config's own stops are merged in, which refuses a result with no stop at all.
        if ((generation?.EosTokenIds.Count ?? 0) == 0 && tokenizer.EosTokenId is int eos && !sampling.StopTokenIds.Contains(eos))
        {
            sampling.StopTokenIds.Add(eos);
        }

        if (generation is not null)
        {
            sampling = generation.ToSamplingOptions(sampling);
        }

        if (sampling.PadTokenId == 0 && tokenizer.PadTokenId is int pad)
        {
            sampling.PadTokenId = pad;
        }

        var outside = sampling.StopTokenIds.Append(sampling.PadTokenId).Where(id => id >= tokenizer.VocabularySize).ToArray();
        if (outside.Length > 0)
        {
            throw new SnapshotFormatException(
                $"'{Path.Combine(folder, "generation_config.json")}': stop or pad ids [{string.Join(", ", outside)}] are not ids of the tokenizer ({tokenizer.VocabularySize} ids).",
                Path.Combine(folder, "generation_config.json"),
                "eos_token_id");
        }

        return sampling;
    }
}
