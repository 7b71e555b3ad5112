namespace Vepa.Rewards;

/// <summary>A blind reader's verdict: its answer and whether the evidence was honest (did not just state the answer).</summary>
/// <param name="Answer">The reader's answer, as text (possibly empty when the reader declines).</param>
/// <param name="IsHonest"><see langword="false"/> when the reader judged that the evidence cheats.</param>
/// <param name="RawText">The reader's full output, when there is one, for logging and debugging.</param>
public sealed record BlindReaderReply(string Answer, bool IsHonest, string? RawText = null);
