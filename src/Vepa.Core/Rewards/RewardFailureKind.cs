namespace Vepa;

/// <summary>Who caused a reward failure, which decides what the reward becomes.</summary>
/// <remarks>
/// <para>A policy optimises the reward, so every failure class must be impossible to farm:</para>
/// <list type="bullet">
/// <item><see cref="Infrastructure"/>: the reader's server or the network failed (timeout, HTTP 429 / 5xx, a dropped connection).
/// The result stays <see cref="RewardStatus.Failed"/> with <see cref="RewardResult.Value"/> = NaN: excluded from the group statistics, and counted.</item>
/// <item><see cref="Evidence"/>: the evidence made the reader fail (it exceeded the reader's context or the evidence cap, the reply to it is
/// malformed or ambiguous, a content filter stopped it, the reply was cut off by the token limit). The reward model scores it as a penalty
/// (<see cref="RewardResult.Penalized"/>, by default the formula's minimum), so failing is never better than answering.</item>
/// <item><see cref="Configuration"/>: the pipeline is set up wrong (HTTP 401, 403, 404, a 400 that is not about the context length, a wrong
/// model name). The result is <see cref="RewardStatus.Failed"/>; a circuit-breaker stage throws once a share of a batch fails this way.</item>
/// </list>
/// </remarks>
public enum RewardFailureKind
{
    /// <summary>The infrastructure failed (timeouts, HTTP 408 / 425 / 429 / 5xx, lost connections, an unexpected client error): NaN, excluded and counted.</summary>
    Infrastructure,

    /// <summary>The evidence caused the failure: scored as a penalty, never excluded.</summary>
    Evidence,

    /// <summary>The pipeline is misconfigured (credentials, endpoint, model name, a request the server rejects whatever the evidence): fails loudly.</summary>
    Configuration,
}
