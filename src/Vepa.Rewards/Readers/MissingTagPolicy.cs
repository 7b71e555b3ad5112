namespace Vepa.Rewards;

/// <summary>What a <see cref="ChatClientBlindReaderExtensions.AsBlindReader"/> reader does when the model's reply carries neither <c>[[CHEAT]]</c> nor <c>[[honest]]</c>.</summary>
public enum MissingTagPolicy
{
    /// <summary>The call fails with a permanent <see cref="BlindReaderException"/>; the reward becomes a failed result (NaN), never a score.</summary>
    Fail,

    /// <summary>The reply is read as honest and its answer is parsed as usual.</summary>
    /// <remarks>More lenient with small readers that forget the tag, but cheating evidence then goes unpunished for those calls.</remarks>
    TreatAsHonest,
}
