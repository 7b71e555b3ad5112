using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
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
    private readonly string? _defaultSystem;
    private readonly IReadOnlyList<long> _stopIds;
    private readonly long _padId;
    private bool _disposed;

    private readonly Qwen2VLImageProcessor? _processor;

    private QwenPolicy(TorchPolicy policy, nn.Module model, string? generationConfig, string folder, QwenTokenizer tokenizer, QwenPolicyOptions options, Qwen2VLImageProcessor? processor)
    {
        Policy = policy;
        Model = model;
        Tokenizer = tokenizer;
        _options = options;
        _processor = processor;
        _defaultSystem = DefaultSystemPrompt(Path.Combine(folder, "tokenizer_config.json"));
        var (stops, pad) = QwenGenerationConfig.Parse(generationConfig, Path.Combine(folder, "generation_config.json"));
        var stopIds = stops.Where(id => id < tokenizer.VocabularySize).ToList();
        if (tokenizer.TryGetTokenId("<|im_end|>", out int imEnd) && !stopIds.Contains(imEnd))
        {
            stopIds.Add(imEnd);   // the end of an assistant turn, whatever the generation config lists
        }

        _stopIds = stopIds;
        _padId = pad ?? tokenizer.PadTokenId ?? stopIds.FirstOrDefault();
    }

    /// <summary>Gets the adapter that implements the policy (sampling, log-probs, references).</summary>
    public TorchPolicy Policy { get; }

    /// <summary>Gets the model (its parameters are the policy's): a <see cref="QwenForCausalLM"/> or a <see cref="Qwen2VLForConditionalGeneration"/>.</summary>
    public nn.Module Model { get; }

    /// <summary>Gets whether prompts may carry an image (a Qwen2-VL snapshot).</summary>
    public bool SupportsImages => _processor is not null;

    /// <summary>Gets the tokenizer, whose <see cref="QwenTokenizer.VocabularySize"/> is its own number of ids (the ids the policy samples).</summary>
    public QwenTokenizer Tokenizer { get; }

    /// <summary>Gets the stop ids: <c>eos_token_id</c> of <c>generation_config.json</c> and <c>&lt;|im_end|&gt;</c>.</summary>
    public IReadOnlyList<long> StopTokenIds => _stopIds;

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
        var config = QwenConfig.FromFolder(folder);
        nn.Module model;
        PolicyModule module;
        string? generation;
        Qwen2VLImageProcessor? processor = null;
        if (config.ModelType == "qwen2_vl")
        {
            processor = Qwen2VLImageProcessor.FromPretrained(folder);
            var vl = Qwen2VLForConditionalGeneration.FromPretrained(folder, device, dtype);
            vl.GradientCheckpointing = options.GradientCheckpointing;
            (model, module, generation) = (vl, new QwenVLPolicyModule(vl), vl.GenerationConfigJson);
        }
        else
        {
            var lm = QwenForCausalLM.FromPretrained(folder, device, dtype);
            lm.GradientCheckpointing = options.GradientCheckpointing;
            (model, module, generation) = (lm, new QwenCausalPolicyModule(lm), lm.GenerationConfigJson);
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
            return new QwenPolicy(policy, model, generation, folder, tokenizer, options, processor);
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
        string? system = _options.SystemPrompt ?? _defaultSystem;
        string user = string.IsNullOrEmpty(context) ? Instruction(question, choices) : context + "\n\n" + Instruction(question, choices);
        if (image is null)
        {
            var ids = QwenChatPrompt.Encode(Tokenizer, system, user, imagePadTokens: 0);
            return new PolicyPrompt(question, goldAnswer, ids, choices: choices) { Id = id };
        }

        if (_processor is null)
        {
            throw new NotSupportedException($"This policy's model ({Model.GetType().Name}) reads no images; load a Qwen2-VL snapshot to give prompts an image.");
        }

        var batch = _processor.Process([image]);
        try
        {
            int tokens = (int)(batch.ImageGridThw.prod(1).sum().item<long>() / (_processor.MergeSize * _processor.MergeSize));
            var promptIds = QwenChatPrompt.Encode(Tokenizer, system, user, tokens);
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
    public SamplingOptions CreateSamplingOptions() => new()
    {
        Temperature = _options.Temperature,
        MaxNewTokens = _options.MaxNewTokens,
        StopTokenIds = [.. _stopIds],
        PadTokenId = _padId < Tokenizer.VocabularySize ? _padId : 0,
    };

    /// <summary>Saves the policy as a Hugging Face snapshot folder: safetensors with the published names, config, generation config, and the tokenizer files of the source folder.</summary>
    /// <param name="folder">The folder (created if needed).</param>
    public void SavePretrained(string folder)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(folder);
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

    /// <summary>The default system message written by the chat template of <c>tokenizer_config.json</c> when none is given, or <see langword="null"/>.</summary>
    private static string? DefaultSystemPrompt(string tokenizerConfigPath)
    {
        if (!File.Exists(tokenizerConfigPath))
        {
            return null;
        }

        using var document = JsonDocument.Parse(File.ReadAllText(tokenizerConfigPath));
        if (!document.RootElement.TryGetProperty("chat_template", out var template) || template.ValueKind != JsonValueKind.String)
        {
            return null;
        }

        // Qwen2 / Qwen2-VL / Qwen2.5 templates write "<|im_start|>system\nYou are ...<|im_end|>\n" when the messages have no system turn.
        var match = Regex.Match(template.GetString()!, @"<\|im_start\|>system\n(You are[^<'""]*)<\|im_end\|>", RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        return match.Success ? match.Groups[1].Value : null;
    }
}
