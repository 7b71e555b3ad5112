namespace Vepa.Rewards;

/// <summary>What a blind reader sees: the question, the evidence (possibly empty), and the choices of a multiple-choice item.</summary>
/// <param name="Question">The question.</param>
/// <param name="Evidence">The evidence text; empty for the visual-dependency check (question alone).</param>
/// <param name="Choices">The options labelled A, B, C, … in order, or <see langword="null"/>.</param>
public sealed record BlindReaderQuery(string Question, string Evidence, IReadOnlyList<string>? Choices = null);
