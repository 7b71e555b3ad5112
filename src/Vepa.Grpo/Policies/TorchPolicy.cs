using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Makes any <see cref="PolicyModule"/> a policy: batched sampling (temperature, top-k, top-p, stop tokens, padding, truncation
/// flags; KV-cached when the module offers it), per-token log-probs through the fused LM-head kernel
/// (<see cref="TokenLogProbs.FromHiddenStates(Tensor, Tensor, Tensor, Tensor?, double, int?, bool)"/>, so [B, T, V] logits are never formed),
/// frozen reference copies, and named state.
/// </summary>
/// <remarks>
/// <para>When the module supports attention masks (<see cref="PolicyModule.SupportsAttentionMask"/>), prompts of any lengths run as
/// one batch, left-padded with <see cref="TorchPolicyOptions.PromptPadTokenId"/> under a mask, with Hugging Face's position ids; only
/// prompts whose prefix inputs differ in shape go to separate batches. Otherwise prompts are grouped into buckets that share the
/// number of prompt tokens and the shape of their inputs, with no padding inside the prompt. Completions are right-padded after
/// their stop token and scored in one causal forward pass over prefix + prompt + completion.</para>
/// <para>The policy's distribution is the softmax over the tokenizer's ids: an LM head with more rows (padded checkpoints) has
/// its extra rows ignored, so they are never sampled, scored or trained.</para>
/// <para>The policy owns the module and disposes it. The module's train/eval mode is left to the caller (dropout makes the trainer's
/// old and new log-probs differ even at μ = 1). Not thread-safe.</para>
/// </remarks>
public sealed class TorchPolicy : IPolicy
{
    private readonly TorchRolloutSampler _sampler;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="TorchPolicy"/> class.</summary>
    /// <param name="module">The model; the policy owns it from now on.</param>
    /// <param name="tokenizer">Decodes completions to text for the reward.</param>
    /// <param name="options">The settings; <see langword="null"/> uses the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="module"/> or <paramref name="tokenizer"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The LM head is not [V, H] (or its bias not [V]), V differs from the tokenizer's vocabulary size, or an option is invalid.</exception>
    public TorchPolicy(PolicyModule module, ITokenizer tokenizer, TorchPolicyOptions? options = null)
        : this(module, tokenizer, options, frozen: false)
    {
    }

    private TorchPolicy(PolicyModule module, ITokenizer tokenizer, TorchPolicyOptions? options, bool frozen)
    {
        ArgumentNullException.ThrowIfNull(module);
        ArgumentNullException.ThrowIfNull(tokenizer);
        options = options?.Clone() ?? new TorchPolicyOptions();
        options.Validate();
        var weight = module.LmHeadWeight ?? throw new ArgumentException($"{module.GetType().Name}.LmHeadWeight returned null.", nameof(module));
        if (weight.dim() != 2)
        {
            throw new ArgumentException($"The LM head weight must be [V, H]; {module.GetType().Name}.LmHeadWeight is [{string.Join(", ", weight.shape)}].", nameof(module));
        }

        if (module.LmHeadBias is Tensor bias && (bias.dim() != 1 || bias.shape[0] != weight.shape[0]))
        {
            throw new ArgumentException($"The LM head bias must be [V = {weight.shape[0]}]; {module.GetType().Name}.LmHeadBias is [{string.Join(", ", bias.shape)}].", nameof(module));
        }

        if (tokenizer.VocabularySize < 1 || tokenizer.VocabularySize > weight.shape[0])
        {
            throw new ArgumentException(
                $"The tokenizer's {tokenizer.VocabularySize} ids must fit the LM head's V = {weight.shape[0]} rows (a head may have padded rows beyond the tokenizer's ids, not fewer rows).",
                nameof(tokenizer));
        }

        if (options.PromptPadTokenId >= weight.shape[0])
        {
            throw new ArgumentException($"Invalid TorchPolicyOptions: PromptPadTokenId must be < V = {weight.shape[0]}; got {options.PromptPadTokenId}.", nameof(options));
        }

        Module = module;
        Tokenizer = tokenizer;
        Options = options;
        IsFrozen = frozen;
        _sampler = new TorchRolloutSampler(this, options.Seed);
    }

    /// <summary>Gets the module.</summary>
    public PolicyModule Module { get; }

    /// <summary>Gets the tokenizer completions are decoded with.</summary>
    public ITokenizer Tokenizer { get; }

    /// <summary>Gets whether this is a frozen copy (a reference) with no trainable parameters.</summary>
    public bool IsFrozen { get; }

    /// <inheritdoc />
    public IRolloutSampler Sampler => _sampler;

    /// <inheritdoc />
    /// <remarks>The module's parameters that require gradient, read at each call (in module order), so parameters frozen or added after construction (LoRA adapters) are seen; none for a frozen copy.</remarks>
    public IReadOnlyList<Parameter> TrainableParameters => IsFrozen ? [] : Module.parameters().Where(p => p.requires_grad).ToArray();

    /// <summary>Gets the settings (a copy taken at construction).</summary>
    internal TorchPolicyOptions Options { get; }

    /// <summary>Gets the number of ids the policy samples and scores: the tokenizer's (≤ the LM head's rows).</summary>
    internal long Vocabulary => Tokenizer.VocabularySize;

    /// <summary>Gets the LM head weight restricted to the tokenizer's ids [V_tok, H] (a view when the head has padded rows).</summary>
    internal Tensor HeadWeight
    {
        get
        {
            var weight = Module.LmHeadWeight;
            return InHeadPrecision(weight.shape[0] == Vocabulary ? weight : weight.narrow(0, 0, Vocabulary));
        }
    }

    /// <summary>Gets the LM head bias restricted to the tokenizer's ids, or <see langword="null"/>.</summary>
    internal Tensor? HeadBias
    {
        get
        {
            var bias = Module.LmHeadBias;
            return bias is null ? null : InHeadPrecision(bias.shape[0] == Vocabulary ? bias : bias.narrow(0, 0, Vocabulary));
        }
    }

    /// <summary>
    /// Gets or sets whether the LM head runs in float32 for a bfloat16/float16 module (<see cref="GrpoTrainerOptions.LmHeadFloat32"/>):
    /// <see cref="HeadWeight"/> and <see cref="HeadBias"/> are then float32 copies (gradients flow back to the parameters) and
    /// the hidden states are cast to them before the head. References created afterwards inherit it.
    /// </summary>
    internal bool HeadInFloat32 { get; set; }

    /// <summary>Gets whether prompts of different lengths share one left-padded batch (the module supports attention masks).</summary>
    internal bool Padded => Module.SupportsAttentionMask;

    /// <inheritdoc />
    /// <remarks>
    /// One causal forward pass per bucket over prefix + prompt + completion (every requested row in one bucket when the module
    /// supports attention masks), then the fused LM-head kernel over the completion positions: [B, T, V] logits are never formed.
    /// </remarks>
    public PolicyLogProbs ComputeLogProbs(RolloutBatch rollouts, PolicyLogProbOptions options)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(rollouts);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(rollouts.Count);
        int[] rows = options.Rows?.ToArray() ?? Enumerable.Range(0, rollouts.Count).ToArray();
        long length = rollouts.Length;

        using var scope = NewDisposeScope();
        var weight = HeadWeight;   // a float32 copy with HeadInFloat32: inside the scope
        var bias = HeadBias;
        var parts = new List<Tensor>();
        var entropies = new List<Tensor>();
        var order = new List<long>();
        var completionIds = rollouts.CompletionIds.to(weight.device);
        var completionMask = rollouts.CompletionMask.to(weight.device);
        if (completionIds.masked_select(completionMask).ge(Vocabulary).any().item<bool>())
        {
            throw new ArgumentException($"The batch holds completion token ids outside the tokenizer's vocabulary [0, {Vocabulary}).", nameof(rollouts));
        }

        foreach (var bucket in PromptBuckets.Group(rows.Length, i => rollouts.PromptOf(rows[i]), Padded))
        {
            int[] bucketRows = bucket.Select(i => rows[i]).ToArray();
            var promptIndex = new Dictionary<int, int>();
            var uniquePrompts = new List<PolicyPrompt>();
            var rowToPrompt = new int[bucketRows.Length];
            for (int i = 0; i < bucketRows.Length; i++)
            {
                int p = bucketRows[i] / rollouts.GroupSize;
                if (!promptIndex.TryGetValue(p, out int local))
                {
                    local = uniquePrompts.Count;
                    promptIndex.Add(p, local);
                    uniquePrompts.Add(rollouts.Prompts[p]);
                }

                rowToPrompt[i] = local;
            }

            var prompt = BuildRows(uniquePrompts, rowToPrompt);
            var rowIndex = tensor(bucketRows.Select(r => (long)r).ToArray(), device: weight.device);
            var targets = completionIds.index_select(0, rowIndex);
            var inputs = length > 1 ? targets.narrow(1, 0, length - 1) : null;
            var inputMask = length > 1 ? completionMask.index_select(0, rowIndex).narrow(1, 0, length - 1).to(ScalarType.Int64) : null;
            var hidden = Run(prompt, inputs, inputMask, null, "the log-prob pass");
            var completionHidden = hidden.narrow(1, prompt.Context - 1, length).to(weight.dtype);
            if (options.ComputeEntropy)
            {
                parts.Add(TokenLogProbs.FromHiddenStates(
                    completionHidden, weight, targets, out var entropy, bias, options.Temperature, Options.LogProbChunkSize, entropyGradient: options.EntropyGradient));
                entropies.Add(entropy);
            }
            else
            {
                parts.Add(TokenLogProbs.FromHiddenStates(completionHidden, weight, targets, bias, options.Temperature, Options.LogProbChunkSize));
            }

            order.AddRange(bucket.Select(i => (long)i));
        }

        var inverse = new long[order.Count];
        for (int i = 0; i < order.Count; i++)
        {
            inverse[order[i]] = i;
        }

        var inverseIndex = tensor(inverse, device: weight.device);
        var logProbs = parts.Count == 1 && IsIdentity(inverse) ? parts[0] : cat(parts, 0).index_select(0, inverseIndex);
        Tensor? entropyAll = options.ComputeEntropy
            ? (entropies.Count == 1 && IsIdentity(inverse) ? entropies[0] : cat(entropies, 0).index_select(0, inverseIndex))
            : null;
        return new PolicyLogProbs(logProbs.MoveToOuterDisposeScope(), entropyAll?.MoveToOuterDisposeScope());
    }

    /// <inheritdoc />
    /// <remarks>The copy is built with <see cref="PolicyModule.CloneArchitecture"/>, moved to this module's device and dtype, and given this module's state.</remarks>
    /// <exception cref="InvalidOperationException"><see cref="PolicyModule.CloneArchitecture"/> returned <see langword="null"/> or a module whose state does not match.</exception>
    public IPolicy CreateReference()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var clone = Module.CloneArchitecture()
            ?? throw new InvalidOperationException($"{Module.GetType().Name}.CloneArchitecture returned null.");
        var weight = Module.LmHeadWeight;
        clone.to(weight.device);
        clone.to(weight.dtype);
        clone.eval();   // a frozen reference: no dropout noise in the reference log-probs and the KL
        var reference = new TorchPolicy(clone, Tokenizer, Options, frozen: true) { HeadInFloat32 = HeadInFloat32 };
        try
        {
            reference.LoadState(GetState());
        }
        catch (ArgumentException e)
        {
            reference.Dispose();
            throw new InvalidOperationException($"{Module.GetType().Name}.CloneArchitecture returned a module whose state does not match: {e.Message}", e);
        }

        foreach (var parameter in clone.parameters())
        {
            parameter.requires_grad = false;
        }

        return reference;
    }

    /// <inheritdoc />
    public IReadOnlyDictionary<string, Tensor> GetState()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        return Module.state_dict();
    }

    /// <inheritdoc />
    public void LoadState(IReadOnlyDictionary<string, Tensor> state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(state);
        var own = Module.state_dict();
        var problems = new List<string>();
        foreach (var name in own.Keys.Where(k => !state.ContainsKey(k)))
        {
            problems.Add($"missing \"{name}\"");
        }

        foreach (var name in state.Keys.Where(k => !own.ContainsKey(k)))
        {
            problems.Add($"unexpected \"{name}\"");
        }

        foreach (var (name, target) in own)
        {
            if (state.TryGetValue(name, out var source))
            {
                if (source is null)
                {
                    problems.Add($"\"{name}\" is null");
                }
                else if (!source.shape.SequenceEqual(target.shape))
                {
                    problems.Add($"\"{name}\" has shape [{string.Join(", ", source.shape)}], expected [{string.Join(", ", target.shape)}]");
                }
                else if (source.dtype != target.dtype)
                {
                    problems.Add($"\"{name}\" has dtype {source.dtype}, expected {target.dtype}");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException($"The state does not fit {Module.GetType().Name}: {string.Join("; ", problems)}.", nameof(state));
        }

        using var noGrad = no_grad();
        foreach (var (name, target) in own)
        {
            target.copy_(state[name]);
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is not null)
        {
            return null;
        }

        return serviceType.IsInstanceOfType(this) ? this
            : serviceType.IsInstanceOfType(Module) ? Module
            : serviceType.IsInstanceOfType(Tokenizer) ? Tokenizer
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _sampler.Dispose();
        Module.Dispose();
    }

    /// <summary>Encodes the prefixes of <paramref name="prompts"/> and repeats them to rows; returns null and P = 0 without a prefix.</summary>
    internal Tensor? EncodePrefixRows(IReadOnlyList<PolicyPrompt> prompts, int[] rowToPrompt, out long prefixLength)
    {
        var prefix = Module.EncodePrefix(prompts);
        if (prefix is null)
        {
            prefixLength = 0;
            return null;
        }

        long hiddenSize = Module.LmHeadWeight.shape[1];
        if (prefix.dim() != 3 || prefix.shape[0] != prompts.Count || prefix.shape[2] != hiddenSize)
        {
            throw new InvalidOperationException(
                $"{Module.GetType().Name}.EncodePrefix must return [N = {prompts.Count}, P, H = {hiddenSize}]; it returned [{string.Join(", ", prefix.shape)}].");
        }

        prefixLength = prefix.shape[1];
        return IsIdentity(rowToPrompt) ? prefix : prefix.index_select(0, tensor(rowToPrompt.Select(i => (long)i).ToArray(), device: prefix.device));
    }

    /// <summary>Builds the prompt side of a batch: the rows' prefix, their prompt ids (left-padded when the module takes masks) and the mask.</summary>
    internal PromptRows BuildRows(IReadOnlyList<PolicyPrompt> prompts, int[] rowToPrompt)
    {
        var prefix = EncodePrefixRows(prompts, rowToPrompt, out long prefixLength);
        var device = Module.LmHeadWeight.device;
        long vocabulary = Module.LmHeadWeight.shape[0];
        int length = prompts.Max(p => p.PromptTokenIds.Count);
        if (!Padded && prompts.Any(p => p.PromptTokenIds.Count != length))
        {
            throw new InvalidOperationException("Prompts of different lengths reached one batch of a module without attention masks.");
        }

        int rows = rowToPrompt.Length;
        var ids = new long[rows * length];
        var mask = new long[rows * (prefixLength + length)];
        Array.Fill(ids, Options.PromptPadTokenId);
        for (int r = 0; r < rows; r++)
        {
            var source = prompts[rowToPrompt[r]].PromptTokenIds;
            int pad = length - source.Count;
            for (long p = 0; p < prefixLength; p++)
            {
                mask[(r * (prefixLength + length)) + p] = 1;
            }

            for (int t = 0; t < source.Count; t++)
            {
                long id = source[t];
                if (id >= vocabulary)
                {
                    throw new ArgumentException($"Prompt token id {id} (position {t}) is outside the vocabulary [0, {vocabulary}).", "prompts");
                }

                ids[(r * length) + pad + t] = id;
                mask[(r * (prefixLength + length)) + prefixLength + pad + t] = 1;
            }
        }

        var idTensor = tensor(ids, [rows, length], ScalarType.Int64).to(device);
        var maskTensor = Padded ? tensor(mask, [rows, prefixLength + length], ScalarType.Int64).to(device) : null;
        return new PromptRows(prefix, prefixLength, idTensor, maskTensor, rowToPrompt.Select(i => prompts[i]).ToArray());
    }

    /// <summary>
    /// Runs the module over prefix + prompt (+ completion tokens with their mask) and checks the output; with a cache this is the
    /// first pass of incremental decoding.
    /// </summary>
    internal Tensor Run(PromptRows prompt, Tensor? completion, Tensor? completionMask, KeyValueCache? cache, string pass)
    {
        var ids = completion is null ? prompt.Ids : cat([prompt.Ids, completion], 1);
        Tensor? mask = null;
        Tensor? positions = null;
        if (prompt.Mask is not null)
        {
            mask = completion is null ? prompt.Mask : cat([prompt.Mask, completionMask ?? ones_like(completion)], 1);
            positions = PromptRows.PositionsOf(mask);
        }

        var hidden = Module.Forward(new PolicyForwardInputs(ids, prompt.Prompts)
        {
            Prefix = prompt.Prefix,
            PromptLength = prompt.Ids.shape[1],
            AttentionMask = mask,
            PositionIds = positions,
            Cache = cache,
        });
        ValidateHidden(hidden, ids.shape[0], prompt.Context + (completion?.shape[1] ?? 0), pass);
        return hidden;
    }

    /// <summary>Checks a forward pass's output is [rows, positions, H].</summary>
    internal void ValidateHidden(Tensor hidden, long rows, long positions, string pass)
    {
        long hiddenSize = Module.LmHeadWeight.shape[1];
        if (hidden is null || hidden.dim() != 3 || hidden.shape[0] != rows || hidden.shape[1] != positions || hidden.shape[2] != hiddenSize)
        {
            throw new InvalidOperationException(
                $"{Module.GetType().Name}.Forward must return [B = {rows}, positions = {positions}, H = {hiddenSize}] in {pass}; it returned {(hidden is null ? "null" : $"[{string.Join(", ", hidden.shape)}]")}.");
        }

        if (positions == 0)
        {
            throw new InvalidOperationException("A prompt must give the module at least one position (prompt tokens or a prefix).");
        }
    }

    private Tensor InHeadPrecision(Tensor value)
        => HeadInFloat32 && value.dtype is ScalarType.BFloat16 or ScalarType.Float16 ? value.to(ScalarType.Float32) : value;

    private static bool IsIdentity(IReadOnlyList<long> order)
    {
        for (int i = 0; i < order.Count; i++)
        {
            if (order[i] != i)
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsIdentity(IReadOnlyList<int> order)
    {
        for (int i = 0; i < order.Count; i++)
        {
            if (order[i] != i)
            {
                return false;
            }
        }

        return true;
    }
}
