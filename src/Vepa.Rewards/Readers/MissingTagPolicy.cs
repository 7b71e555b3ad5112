namespace Vepa.Rewards;

/// <summary>What a <see cref="ChatClientBlindReaderExtensions.AsBlindReader"/> reader does when the model's reply carries neither <c>[[CHEAT]]</c> nor <c>[[honest]]</c>.</summary>
public enum MissingTagPolicy
{
    /// <summary>The call fails with a permanent <see cref="BlindReaderException"/> of kind <see cref="RewardFailureKind.Evidence"/> ("the reply
    /// has no [[CHEAT]] or [[honest]] tag"); the sufficiency reward scores it as a penalty (<see cref="RewardResult.Penalized"/>, the formula's
    /// minimum by default, <see cref="SufficiencyRewardOptions.EvidenceFailureReward"/>), never NaN. With
    /// <see cref="ChatClientBlindReaderOptions.MalformedReplyIsTransient"/> it is a transient infrastructure failure instead (retried, NaN when
    /// retries run out).</summary>
    Fail,

    /// <summary>The reply is read as honest and its answer is read from its first line (labels removed); a first line with no answer fails as
    /// with <see cref="Fail"/>.</summary>
    /// <remarks>More lenient with small readers that forget the tag, but cheating evidence then goes unpunished for those calls.</remarks>
    TreatAsHonest,
}
