namespace Vepa.Engines;

/// <summary>
/// Samples rollouts from a vLLM server through its OpenAI-compatible <c>POST /v1/completions</c>: the prompt as token ids, <c>n</c> = G,
/// <c>logprobs: 0</c> and <c>return_token_ids: true</c>, so each completion comes back as token ids with the engine's log-prob of each.
/// </summary>
/// <remarks>
/// <para>Needs vLLM 0.10.2 or later (<c>return_token_ids</c>). Start the server with <c>--logprobs-mode processed_logprobs</c> so the
/// log-probs are those after temperature, as the trainer recomputes them, and sample with top-p 1 and no top-k; docs/engines.md has the
/// command line.</para>
/// <para>The full-weight synchronizer needs vLLM to serve <c>{SnapshotDirectory}/current</c> with <c>VLLM_SERVER_DEV_MODE=1</c>. The rest
/// of the behaviour is <see cref="EngineRolloutSampler"/>'s.</para>
/// </remarks>
public sealed class VllmRolloutSampler : EngineRolloutSampler
{
    /// <summary>Initializes a new instance of the <see cref="VllmRolloutSampler"/> class.</summary>
    /// <param name="options">The server and limits (copied and validated).</param>
    /// <param name="httpClient">The client to send requests with (not owned; its own <see cref="HttpClient.Timeout"/> also applies), or <see langword="null"/> for one of the sampler's own.</param>
    /// <param name="timeProvider">The clock of the timeouts and retry delays; <see langword="null"/> uses <see cref="TimeProvider.System"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid; the message lists every problem.</exception>
    public VllmRolloutSampler(EngineSamplerOptions options, HttpClient? httpClient = null, TimeProvider? timeProvider = null)
        : base(VllmProtocol.Instance, options, httpClient, timeProvider)
    {
    }
}
