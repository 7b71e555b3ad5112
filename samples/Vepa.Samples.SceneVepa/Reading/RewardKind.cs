namespace Vepa.Samples.SceneVepa.Reading;

/// <summary>The reward the VEPA stage trains with (<c>--reward</c>): the paper's terms, its signed variant, or a grounded reward.</summary>
internal enum RewardKind
{
    /// <summary>The paper's Eq. 11, R = s · h · γ (the library's default; <c>shg</c>).</summary>
    SufficiencyHonestyRepetition,

    /// <summary>Sufficiency alone, R = s (<c>s</c>): no cheating flag, no repetition penalty.</summary>
    Sufficiency,

    /// <summary>R = s · h (<c>sh</c>): no repetition penalty.</summary>
    SufficiencyHonesty,

    /// <summary>The paper's signed appendix variant: +1 correct, −1 cheating, −0.5 repetition (<c>signed</c>).</summary>
    Signed,

    /// <summary>R = s · h · γ · g, where g = 1 when the scene graph makes every stated fact true and 0 otherwise (<c>grounded</c>): what an image-grounded verifier would add.</summary>
    Grounded,
}
