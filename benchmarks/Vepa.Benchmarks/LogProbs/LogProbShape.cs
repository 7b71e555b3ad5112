namespace Vepa.Benchmarks.LogProbs;

/// <summary>One benchmark shape: <see cref="Tokens"/> = B·T rows (sequences of <see cref="SequenceLength"/> tokens) and vocabulary V.</summary>
public sealed record LogProbShape(int Tokens, int Vocabulary)
{
    /// <summary>Set this environment variable (any value) to run the suites on tiny shapes only: a smoke test of the code, not a measurement.</summary>
    public const string SmokeVariable = "VEPA_BENCH_SMOKE";

    /// <summary>The completion length T; B = Tokens / T.</summary>
    public const int SequenceLength = 1024;

    /// <summary>Gets B.</summary>
    public int Batch => Math.Max(1, Tokens / SequenceLength);

    /// <summary>Gets T.</summary>
    public int Time => Tokens / Batch;

    /// <summary>Gets the size of float32 logits [B·T, V] in MiB.</summary>
    public double LogitsMiB => (double)Tokens * Vocabulary * sizeof(float) / (1024 * 1024);

    /// <summary>True when only the tiny smoke-test shapes should run.</summary>
    public static bool Smoke => !string.IsNullOrEmpty(Environment.GetEnvironmentVariable(SmokeVariable));

    /// <summary>
    /// Shapes for the logits suite. V = 32768 at 2k, 8k and 16k tokens; V = 152064 (Qwen2.5) at 2k and 4k tokens only:
    /// the plain path needs about 4 · N · V · 4 bytes (logits, log-softmax, its gradient, the logits' gradient), which is
    /// 18.6 GiB at 8k tokens and 37 GiB at 16k: more than a 24 GiB machine holds with the OS and runtime.
    /// </summary>
    public static IEnumerable<LogProbShape> ForLogits() => Smoke
        ? [new(256, 1000), new(512, 3000)]
        : [new(2048, 32768), new(8192, 32768), new(16384, 32768), new(2048, 152064), new(4096, 152064)];

    /// <summary>
    /// Shapes for the fused-linear suite (H = 1024). The fused path costs about 8 · N · V · H flops per forward+backward
    /// (the baseline 6 · N · V · H), so 16k tokens at V = 32768 is about 4.4 TFLOP per call; V = 152064 runs at 2k tokens.
    /// </summary>
    public static IEnumerable<LogProbShape> ForHiddenStates() => Smoke
        ? [new(256, 1000)]
        : [new(2048, 32768), new(8192, 32768), new(16384, 32768), new(2048, 152064)];

    /// <inheritdoc />
    public override string ToString() => $"N={Tokens} V={Vocabulary}";
}
