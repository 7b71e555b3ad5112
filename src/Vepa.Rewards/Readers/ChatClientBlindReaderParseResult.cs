namespace Vepa.Rewards;

/// <summary>The outcome of parsing a blind reader's reply: an answer and a verdict, or why the reply is malformed.</summary>
/// <param name="Answer">The extracted answer; empty when parsing failed.</param>
/// <param name="IsHonest">The verdict; meaningless when parsing failed.</param>
/// <param name="Error">Why the reply is malformed, or <see langword="null"/> when it was parsed.</param>
internal readonly record struct ChatClientBlindReaderParseResult(string Answer, bool IsHonest, string? Error)
{
    /// <summary>Gets whether the reply was parsed.</summary>
    public bool Succeeded => Error is null;

    /// <summary>Creates a successful result.</summary>
    public static ChatClientBlindReaderParseResult Success(string answer, bool isHonest) => new(answer, isHonest, null);

    /// <summary>Creates a failed result.</summary>
    public static ChatClientBlindReaderParseResult Failure(string error) => new(string.Empty, false, error);
}
