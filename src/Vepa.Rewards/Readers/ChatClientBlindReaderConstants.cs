namespace Vepa.Rewards;

/// <summary>Defaults of <see cref="ChatClientBlindReaderOptions"/> that are not prompt text (the prompt texts live in <see cref="ChatClientBlindReaderPrompt"/>).</summary>
internal static class ChatClientBlindReaderConstants
{
    /// <summary>Greedy decoding, as in the paper.</summary>
    public const float DefaultTemperature = 0f;

    /// <summary>Room for the tag, a short answer and a stray sentence of explanation.</summary>
    public const int DefaultMaxOutputTokens = 128;
}
