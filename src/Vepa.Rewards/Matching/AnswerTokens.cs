namespace Vepa.Rewards;

/// <summary>The tokens of one text: every token, and the tokens left after stop-word removal.</summary>
/// <param name="All">Every token, in order.</param>
/// <param name="Content">The tokens that are not stop words, in order (numbers are never stop words).</param>
internal sealed record AnswerTokens(IReadOnlyList<AnswerToken> All, IReadOnlyList<AnswerToken> Content);
