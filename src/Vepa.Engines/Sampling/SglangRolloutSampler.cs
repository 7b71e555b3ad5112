namespace Vepa.Engines;

/// <summary>
/// Samples rollouts from an SGLang server through its native <c>POST /generate</c>: the prompt's token ids repeated G times as one batch,
/// <c>return_logprob: true</c>, so each completion comes back as token ids with the engine's log-prob of each
/// (<c>meta_info.output_token_logprobs</c>).
/// </summary>
/// <remarks>
/// <para>SGLang reports log softmax(logits / T), before top-k and top-p filtering: sample with top-p 1 and no top-k for log-probs that
/// match the trainer's; docs/engines.md has the command line.</para>
/// <para>The full-weight synchronizer calls <c>/update_weights_from_disk</c>. The rest of the behaviour is <see cref="EngineRolloutSampler"/>'s.</para>
/// </remarks>
public sealed class SglangRolloutSampler : EngineRolloutSampler
{
    /// <summary>Initializes a new instance of the <see cref="SglangRolloutSampler"/> class.</summary>
    /// <param name="options">The server and limits (copied and validated).</param>
    /// <param name="httpClient">The client to send requests with (not owned; its own <see cref="HttpClient.Timeout"/> also applies), or <see langword="null"/> for one of the sampler's own.</param>
    /// <param name="timeProvider">The clock of the timeouts and retry delays; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem.</exception>
    public SglangRolloutSampler(EngineSamplerOptions options, HttpClient? httpClient = null, TimeProvider? timeProvider = null)
        : base(SglangProtocol.Instance, options, httpClient, timeProvider)
    {
    }
}
