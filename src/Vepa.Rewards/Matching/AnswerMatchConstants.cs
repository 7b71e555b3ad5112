namespace Vepa.Rewards;

/// <summary>Defaults and limits of <see cref="AnswerMatchOptions"/>.</summary>
internal static class AnswerMatchConstants
{
    public const double DefaultRelativeTolerance = 1e-9;

    public const int DefaultNegationWindow = 3;

    public const int MaxNegationWindow = 16;

    /// <summary>Words that negate what follows them in the same clause; never removed as stop words.</summary>
    public static readonly string[] NegationWords = ["not", "no", "never", "none", "nor", "neither", "without", "nothing"];

    /// <summary>Words that make a clause a hedge between alternatives.</summary>
    public static readonly string[] HedgeWords = ["or"];

    public static readonly string[] StrongYes = ["yes", "yeah", "yep", "yup"];

    public static readonly string[] StrongNo = ["no", "nope", "nah"];

    public static readonly string[] WeakYes = ["true", "correct", "affirmative"];

    public static readonly string[] WeakNo = ["false", "incorrect", "negative"];
}
