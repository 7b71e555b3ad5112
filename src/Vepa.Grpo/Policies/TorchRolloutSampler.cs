using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// Batched sampling from a <see cref="TorchPolicy"/>: one batch per prompt bucket (one left-padded batch of every prompt when the
/// module supports attention masks), KV-cached when the module offers it.
/// </summary>
internal sealed class TorchRolloutSampler : IRolloutSampler, IDisposable
{
    private static readonly RolloutSamplerMetadata Metadata = new("vepa", endpoint: null, modelId: null, samplesRemotely: false);

    private readonly TorchPolicy _policy;
    private readonly Generator _generator;

    public TorchRolloutSampler(TorchPolicy policy, long? seed)
    {
        _policy = policy;
        var device = policy.Module.LmHeadWeight.device;
        _generator = new Generator(unchecked((ulong)(seed ?? Random.Shared.NextInt64())), device);
    }

    public Task<RolloutBatch> SampleAsync(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("At least one prompt is needed; got 0.", nameof(prompts));
        }

        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null)
            {
                throw new ArgumentException($"prompts[{i}] is null.", nameof(prompts));
            }
        }

        options.Validate();
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(Sample(prompts, groupSize, options, cancellationToken));
    }

    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        if (serviceKey is null && serviceType == typeof(RolloutSamplerMetadata))
        {
            return Metadata; // in process: sampler and trainer share the weights and the kernels
        }

        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : _policy.GetService(serviceType, serviceKey);
    }

    public void Dispose() => _generator.Dispose();

    private RolloutBatch Sample(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, CancellationToken cancellationToken)
    {
        var module = _policy.Module;
        long vocabulary = _policy.Vocabulary;
        if (options.PadTokenId >= vocabulary)
        {
            throw new ArgumentException($"PadTokenId must be < V = {vocabulary}; got {options.PadTokenId}.", nameof(options));
        }

        foreach (long stop in options.StopTokenIds)
        {
            if (stop >= vocabulary)
            {
                throw new ArgumentException($"Stop token ids must be < V = {vocabulary}; got {stop}.", nameof(options));
            }
        }

        int rows = prompts.Count * groupSize;
        var rowTokens = new long[rows][];
        var rowLogProbs = new double[rows][];
        var stopIds = new HashSet<long>(options.StopTokenIds);
        Generator? own = options.Seed is long seed ? new Generator(unchecked((ulong)seed), module.LmHeadWeight.device) : null;
        try
        {
            using var noGrad = no_grad();
            foreach (var bucket in PromptBuckets.Group(prompts.Count, i => prompts[i], _policy.Padded))
            {
                cancellationToken.ThrowIfCancellationRequested();
                SampleBucket(bucket.Select(i => prompts[i]).ToList(), groupSize, options, own ?? _generator, out long[,] tokens, out double[,] logProbs);
                for (int j = 0; j < bucket.Count; j++)
                {
                    for (int g = 0; g < groupSize; g++)
                    {
                        int local = (j * groupSize) + g;
                        int row = (bucket[j] * groupSize) + g;
                        int steps = tokens.GetLength(1);
                        rowTokens[row] = new long[steps];
                        rowLogProbs[row] = new double[steps];
                        for (int t = 0; t < steps; t++)
                        {
                            rowTokens[row][t] = tokens[local, t];
                            rowLogProbs[row][t] = logProbs[local, t];
                        }
                    }
                }
            }
        }
        finally
        {
            own?.Dispose();
        }

        return Assemble(prompts, groupSize, options, rowTokens, rowLogProbs, stopIds);
    }

    private void SampleBucket(List<PolicyPrompt> bucketPrompts, int groupSize, SamplingOptions options, Generator generator, out long[,] tokens, out double[,] logProbs)
    {
        using var scope = NewDisposeScope();
        var module = _policy.Module;
        var weight = _policy.HeadWeight;
        var bias = _policy.HeadBias;
        int rows = bucketPrompts.Count * groupSize;
        var prompt = _policy.BuildRows(bucketPrompts, Enumerable.Range(0, rows).Select(r => r / groupSize).ToArray());
        using var cache = _policy.Options.UseKeyValueCache && module.SupportsKeyValueCache ? new KeyValueCache() : null;

        var hidden = _policy.Run(prompt, null, null, cache, "the prompt pass");
        var mask = prompt.Mask;
        var last = hidden.select(1, -1);
        var stop = tensor(options.StopTokenIds.ToArray(), dtype: ScalarType.Int64, device: weight.device);
        var finished = zeros(rows, dtype: ScalarType.Bool, device: weight.device);
        var generated = new List<Tensor>();
        var generatedLogProbs = new List<Tensor>();
        for (int step = 0; step < options.MaxNewTokens; step++)
        {
            var logits = nn.functional.linear(last.to(weight.dtype), weight, bias);
            var (next, nextLogProb) = NextTokenSampling.Sample(logits, options, generator);
            next = where(finished, options.PadTokenId, next);
            nextLogProb = where(finished, zeros_like(nextLogProb), nextLogProb);
            generated.Add(next);
            generatedLogProbs.Add(nextLogProb);
            if (stop.numel() > 0)
            {
                finished = finished.logical_or(isin(next, stop));
            }

            if (step == options.MaxNewTokens - 1 || finished.all().item<bool>())
            {
                break;
            }

            if (cache is not null)
            {
                // One new position per row: a real position, so the mask grows by a 1 and its position is the count of real ones − 1.
                mask = mask is null ? null : cat([mask, ones(rows, 1, dtype: ScalarType.Int64, device: mask.device)], 1);
                hidden = module.Forward(new PolicyForwardInputs(next.unsqueeze(1), prompt.Prompts)
                {
                    PromptLength = 0,
                    AttentionMask = mask,
                    PositionIds = mask is null ? null : mask.sum(-1, keepdim: true) - 1,
                    Cache = cache,
                });
                _policy.ValidateHidden(hidden, rows, 1, $"decoding step {step + 1}");
            }
            else
            {
                hidden = _policy.Run(prompt, stack(generated, 1), null, null, $"decoding step {step + 1}");
            }

            last = hidden.select(1, -1);
        }

        var ids = stack(generated, 1).cpu();
        var lps = stack(generatedLogProbs, 1).to(ScalarType.Float64).cpu();
        int steps = generated.Count;
        tokens = new long[rows, steps];
        logProbs = new double[rows, steps];
        var idSpan = ids.data<long>();
        var lpSpan = lps.data<double>();
        for (int r = 0; r < rows; r++)
        {
            for (int t = 0; t < steps; t++)
            {
                tokens[r, t] = idSpan[(r * steps) + t];
                logProbs[r, t] = lpSpan[(r * steps) + t];
            }
        }
    }

    private RolloutBatch Assemble(IReadOnlyList<PolicyPrompt> prompts, int groupSize, SamplingOptions options, long[][] rowTokens, double[][] rowLogProbs, HashSet<long> stopIds)
    {
        int rows = rowTokens.Length;
        int length = rowTokens.Max(r => r.Length);
        var ids = new long[rows * length];
        var mask = new bool[rows * length];
        var logProbs = new double[rows * length];
        var truncated = new bool[rows];
        var texts = new string[rows];
        Array.Fill(ids, options.PadTokenId);
        for (int r = 0; r < rows; r++)
        {
            long[] tokens = rowTokens[r];
            int end = Array.FindIndex(tokens, stopIds.Contains);
            int valid = end >= 0 ? end + 1 : tokens.Length;
            truncated[r] = end < 0;
            texts[r] = _policy.Tokenizer.Decode(tokens.AsSpan(0, end >= 0 ? end : valid));
            for (int t = 0; t < valid; t++)
            {
                ids[(r * length) + t] = tokens[t];
                mask[(r * length) + t] = true;
                logProbs[(r * length) + t] = rowLogProbs[r][t];
            }
        }

        var weight = _policy.Module.LmHeadWeight;
        var logProbType = weight.dtype == ScalarType.Float64 ? ScalarType.Float64 : ScalarType.Float32;
        using var scope = NewDisposeScope();
        var batch = new RolloutBatch(
            prompts,
            groupSize,
            tensor(ids, [rows, length], ScalarType.Int64).to(weight.device),
            tensor(mask, [rows, length]).to(weight.device),
            truncated,
            texts,
            tensor(logProbs, [rows, length], ScalarType.Float64).to(logProbType, weight.device));
        return batch;
    }
}
