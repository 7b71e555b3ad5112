using System.Globalization;
using TorchSharp;

namespace Vepa;

/// <summary>
/// Completions sampled for a batch of prompts, G per prompt: what the GRPO kernels need (token ids, mask, group layout,
/// truncation flags, optional sampler log-probs) and what the reward needs (the decoded texts).
/// </summary>
/// <remarks>
/// <para><b>Layout.</b> B = P × G rows; rows g·… are laid out group after group: rows [p·G, (p+1)·G) belong to
/// <c>Prompts[p]</c>. T is the longest completion; shorter rows are padded and their mask is 0 there.</para>
/// <para><b>Ownership.</b> The batch takes ownership of the tensors passed to its constructor: they are detached from any dispose
/// scope and disposed with the batch. A batch may therefore cross an <c>await</c> (it is scored asynchronously between sampling
/// and the update). Readers must not dispose the tensors they get from it.</para>
/// <para>Not thread-safe to dispose while in use; reading from several threads is safe.</para>
/// </remarks>
public sealed class RolloutBatch : IDisposable
{
    private int[]? _lengths;
    private long _weightVersion;
    private bool _disposed;

    /// <summary>Initializes a new instance of the <see cref="RolloutBatch"/> class and takes ownership of its tensors.</summary>
    /// <param name="prompts">The P prompts, in group order.</param>
    /// <param name="groupSize">G, the completions per prompt; at least 1.</param>
    /// <param name="completionIds">The completion token ids [B, T], int64.</param>
    /// <param name="completionMask">The completion mask [B, T], bool: <see langword="true"/> for real completion tokens (up to and including the stop token).</param>
    /// <param name="truncated">Per row, whether the completion reached the length limit without a stop token.</param>
    /// <param name="texts">Per row, the decoded completion text.</param>
    /// <param name="samplerLogProbs">The sampler's log-probs of the sampled tokens [B, T] (floating point), or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="prompts"/>, <paramref name="completionIds"/>, <paramref name="completionMask"/>, <paramref name="truncated"/> or <paramref name="texts"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A shape, dtype, device or count does not match the layout; the message names the argument, the expected and the actual value.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="groupSize"/> is less than 1.</exception>
    public RolloutBatch(
        IReadOnlyList<PolicyPrompt> prompts,
        int groupSize,
        torch.Tensor completionIds,
        torch.Tensor completionMask,
        IReadOnlyList<bool> truncated,
        IReadOnlyList<string> texts,
        torch.Tensor? samplerLogProbs = null)
    {
        ArgumentNullException.ThrowIfNull(prompts);
        ArgumentNullException.ThrowIfNull(completionIds);
        ArgumentNullException.ThrowIfNull(completionMask);
        ArgumentNullException.ThrowIfNull(truncated);
        ArgumentNullException.ThrowIfNull(texts);
        ArgumentOutOfRangeException.ThrowIfLessThan(groupSize, 1);
        if (prompts.Count == 0)
        {
            throw new ArgumentException("A rollout batch needs at least one prompt; got 0.", nameof(prompts));
        }

        for (int i = 0; i < prompts.Count; i++)
        {
            if (prompts[i] is null)
            {
                throw new ArgumentException($"prompts[{i}] is null.", nameof(prompts));
            }
        }

        long rows = (long)prompts.Count * groupSize;
        if (completionIds.dim() != 2 || completionIds.shape[0] != rows)
        {
            throw new ArgumentException($"completionIds must be [B, T] with B = prompts × G = {prompts.Count} × {groupSize} = {rows}; got [{string.Join(", ", completionIds.shape)}].", nameof(completionIds));
        }

        if (completionIds.dtype != torch.ScalarType.Int64)
        {
            throw new ArgumentException($"completionIds must be int64; got {completionIds.dtype}.", nameof(completionIds));
        }

        if (!completionMask.shape.SequenceEqual(completionIds.shape))
        {
            throw new ArgumentException($"completionMask must have the shape of completionIds [{string.Join(", ", completionIds.shape)}]; got [{string.Join(", ", completionMask.shape)}].", nameof(completionMask));
        }

        if (completionMask.dtype != torch.ScalarType.Bool)
        {
            throw new ArgumentException($"completionMask must be bool; got {completionMask.dtype}.", nameof(completionMask));
        }

        if (!SameDevice(completionMask, completionIds))
        {
            throw new ArgumentException($"completionMask must be on the device of completionIds ({completionIds.device}); got {completionMask.device}.", nameof(completionMask));
        }

        if (truncated.Count != rows)
        {
            throw new ArgumentException($"truncated must have one flag per row ({rows}); got {truncated.Count}.", nameof(truncated));
        }

        if (texts.Count != rows)
        {
            throw new ArgumentException($"texts must have one text per row ({rows}); got {texts.Count}.", nameof(texts));
        }

        for (int i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"texts[{i}] is null.", nameof(texts));
            }
        }

        if (samplerLogProbs is not null)
        {
            if (!samplerLogProbs.shape.SequenceEqual(completionIds.shape))
            {
                throw new ArgumentException($"samplerLogProbs must have the shape of completionIds [{string.Join(", ", completionIds.shape)}]; got [{string.Join(", ", samplerLogProbs.shape)}].", nameof(samplerLogProbs));
            }

            if (!samplerLogProbs.is_floating_point())
            {
                throw new ArgumentException($"samplerLogProbs must be floating point; got {samplerLogProbs.dtype}.", nameof(samplerLogProbs));
            }

            if (!SameDevice(samplerLogProbs, completionIds))
            {
                throw new ArgumentException($"samplerLogProbs must be on the device of completionIds ({completionIds.device}); got {samplerLogProbs.device}.", nameof(samplerLogProbs));
            }
        }

        Prompts = prompts.ToArray();
        GroupSize = groupSize;
        CompletionIds = completionIds.DetachFromDisposeScope();
        CompletionMask = completionMask.DetachFromDisposeScope();
        Truncated = truncated.ToArray();
        Texts = texts.ToArray();
        SamplerLogProbs = samplerLogProbs?.DetachFromDisposeScope();
    }

    /// <summary>Gets the P prompts, in group order.</summary>
    public IReadOnlyList<PolicyPrompt> Prompts { get; }

    /// <summary>Gets G, the completions per prompt.</summary>
    public int GroupSize { get; }

    /// <summary>Gets P, the number of prompts.</summary>
    public int PromptCount => Prompts.Count;

    /// <summary>Gets B = P × G, the number of completions (rows).</summary>
    public int Count => Prompts.Count * GroupSize;

    /// <summary>Gets T, the padded completion length.</summary>
    public int Length => checked((int)CompletionIds.shape[1]);

    /// <summary>Gets the completion token ids [B, T], int64. Owned by the batch.</summary>
    public torch.Tensor CompletionIds { get; }

    /// <summary>Gets the completion mask [B, T], bool. Owned by the batch.</summary>
    public torch.Tensor CompletionMask { get; }

    /// <summary>Gets, per row, whether the completion hit the length limit without a stop token.</summary>
    public IReadOnlyList<bool> Truncated { get; }

    /// <summary>Gets, per row, the decoded completion text.</summary>
    public IReadOnlyList<string> Texts { get; }

    /// <summary>Gets the sampler's log-probs of the sampled tokens [B, T], or <see langword="null"/> when the sampler has none. Owned by the batch.</summary>
    public torch.Tensor? SamplerLogProbs { get; }

    /// <summary>Gets the weight version the batch was sampled under: the number of optimizer updates applied to the weights the
    /// sampler used (see <see cref="IWeightSynchronizer"/>). A sampler that shares the policy's weights in process may leave it at 0;
    /// the trainer then knows the version itself.</summary>
    /// <value>The default is 0 (the initial weights). Must be ≥ 0.</value>
    /// <exception cref="ArgumentOutOfRangeException">The value is negative.</exception>
    public long WeightVersion
    {
        get => _weightVersion;
        init
        {
            ArgumentOutOfRangeException.ThrowIfNegative(value);
            _weightVersion = value;
        }
    }

    /// <summary>Gets, per row, the completion length Σ_t mask (read from the mask once, then cached).</summary>
    public IReadOnlyList<int> CompletionLengths
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_lengths is null)
            {
                using var scope = torch.NewDisposeScope();
                long[] sums = CompletionMask.sum(1, type: torch.ScalarType.Int64).cpu().data<long>().ToArray();
                _lengths = Array.ConvertAll(sums, s => checked((int)s));
            }

            return _lengths;
        }
    }

    /// <summary>Gets the prompt a row belongs to.</summary>
    /// <param name="row">The row, in [0, B).</param>
    /// <returns>The prompt <c>Prompts[row / G]</c>.</returns>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="row"/> is outside [0, B).</exception>
    public PolicyPrompt PromptOf(int row)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(row);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(row, Count);
        return Prompts[row / GroupSize];
    }

    /// <summary>Maps each completion to a <see cref="RewardRequest"/>: the prompt's question, gold answer and choices, the completion text as the evidence.</summary>
    /// <returns>B requests in row order; <see cref="RewardRequest.Id"/> is "<c>{prompt id}#{g}</c>" (or "<c>{p}#{g}</c>" without an id) and the prompt's metadata is carried over.</returns>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public IReadOnlyList<RewardRequest> ToRewardRequests()
        => ToRewardRequests((prompt, text, row) => new RewardRequest(prompt.Question, prompt.GoldAnswer, text, prompt.Choices)
        {
            Id = string.Create(CultureInfo.InvariantCulture, $"{prompt.Id ?? (row / GroupSize).ToString(CultureInfo.InvariantCulture)}#{row % GroupSize}"),
            Metadata = prompt.Metadata,
        });

    /// <summary>Maps each completion to a <see cref="RewardRequest"/> with a host-supplied mapping.</summary>
    /// <param name="map">Builds the request from the row's prompt, its completion text and the row index.</param>
    /// <returns>B requests in row order.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="map"/> is <see langword="null"/>.</exception>
    /// <exception cref="InvalidOperationException"><paramref name="map"/> returned <see langword="null"/>.</exception>
    /// <exception cref="ObjectDisposedException">The batch was disposed.</exception>
    public IReadOnlyList<RewardRequest> ToRewardRequests(Func<PolicyPrompt, string, int, RewardRequest> map)
    {
        ArgumentNullException.ThrowIfNull(map);
        ObjectDisposedException.ThrowIf(_disposed, this);
        var requests = new RewardRequest[Count];
        for (int row = 0; row < requests.Length; row++)
        {
            requests[row] = map(PromptOf(row), Texts[row], row)
                ?? throw new InvalidOperationException($"The reward-request mapping returned null for row {row}.");
        }

        return requests;
    }

    private static bool SameDevice(torch.Tensor a, torch.Tensor b) => a.device_type == b.device_type && a.device_index == b.device_index;

    /// <summary>Releases the batch's tensors.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        CompletionIds.Dispose();
        CompletionMask.Dispose();
        SamplerLogProbs?.Dispose();
    }
}
