namespace Vepa.Grpo;

/// <summary>Derives the seeds of a step's random choices from the run's seed, so a resumed run repeats them exactly.</summary>
internal static class StepSeeds
{
    /// <summary>The stream of the sampling seeds (round r of step s).</summary>
    public const int Sampling = 1;

    /// <summary>The stream of the minibatch shuffles (pass i of step s).</summary>
    public const int Shuffle = 2;

    /// <summary>The stream of the evaluation sampling seeds (after s completed steps).</summary>
    public const int Evaluation = 3;

    /// <summary>The stream of the choice of logged completions (step s).</summary>
    public const int Completions = 4;

    /// <summary>Mixes (seed, step, stream, index) into a 63-bit seed (SplitMix64 finaliser over each part).</summary>
    public static long Derive(long seed, int step, int stream, int index)
    {
        ulong state = unchecked((ulong)seed);
        state = Mix(state ^ Mix((ulong)(uint)step + 0x9E3779B97F4A7C15UL));
        state = Mix(state ^ Mix(((ulong)(uint)stream << 32) | (uint)index));
        return (long)(state >> 1);
    }

    private static ulong Mix(ulong z)
    {
        unchecked
        {
            z += 0x9E3779B97F4A7C15UL;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
