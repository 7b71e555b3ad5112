using System.Globalization;
using TorchSharp;

namespace Vepa.Benchmarks.Kernels;

/// <summary>The command line of <c>kernels</c>.</summary>
internal sealed record KernelHarnessOptions
{
    public const string Help = """
        Usage: dotnet run -c Release --project benchmarks/Vepa.Benchmarks -- kernels [options]

        Gates every selected kernel for correctness (every variant of docs/kernels.md and awkward shapes, against a float64
        reference), then times the kernels that passed with BenchmarkDotNet (in process), and exports the results.

        Options:
          --filter TEXT[,TEXT]   groups or kernels to run: "loss", "logprobs", "linear", "advantages", or a kernel
                                 name (default: loss)
          --shapes LIST          loss: BxT (e.g. 64x1024,1024x4096); logprobs: NxV (e.g. 2048x32768); linear: BxT with H = 1024,
                                 V = 32768; advantages: PxG. Default: 64x1024 / 2048x32768 / 2x1024 / 4096x16
          --device cpu|cuda      where the inputs live (cuda needs a CUDA LibTorch; timings synchronise the device). Default: cpu
          --dtype NAME           float32, float64 or bf16 for the timed inputs (the gate runs float64, float32 and bf16). Default: float32
          --baseline NAME        the kernel the Ratio column divides by. Default: reference (loss), plain (logprobs),
                                 matmul-composition (linear), tensor (advantages)
          --iterations N         measured iterations per case (one launch, two warm-ups). Default: 5
          --out DIR              where results.{md,json,csv} and BenchmarkDotNet's own reports go. Default: kernel-results
          --compare FILE         a previous results.json: flag cases slower by more than --threshold, exit code 3
          --threshold FRACTION   the allowed slow-down for --compare. Default: 0.10
          --gate-only            run the correctness gate, time nothing
          --help                 this text

        Exit codes: 0 success; 1 bad arguments; 2 a kernel failed the gate (it is not timed); 3 a regression against --compare.
        """;

    public IReadOnlyList<string> Filters { get; init; } = ["loss"];

    public IReadOnlyList<string>? Shapes { get; init; }

    public string Device { get; init; } = "cpu";

    public torch.ScalarType Dtype { get; init; } = torch.ScalarType.Float32;

    public string? Baseline { get; init; }

    public int Iterations { get; init; } = 5;

    public string Out { get; init; } = "kernel-results";

    public string? Compare { get; init; }

    public double Threshold { get; init; } = 0.10;

    public bool GateOnly { get; init; }

    public bool ShowHelp { get; init; }

    /// <summary>Parses the arguments after <c>kernels</c>.</summary>
    /// <exception cref="ArgumentException">An option is unknown, lacks its value, or has a bad value.</exception>
    public static KernelHarnessOptions Parse(IReadOnlyList<string> args)
    {
        var o = new KernelHarnessOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string Value() => i + 1 < args.Count ? args[++i] : throw new ArgumentException($"{name} needs a value.", nameof(args));
            o = name switch
            {
                "--help" or "-h" => o with { ShowHelp = true },
                "--filter" => o with { Filters = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--shapes" => o with { Shapes = Value().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries) },
                "--device" => o with { Device = Value() is "cpu" or "cuda" ? args[i] : throw new ArgumentException($"--device must be cpu or cuda; got '{args[i]}'.", nameof(args)) },
                "--dtype" => o with { Dtype = ParseDtype(Value()) },
                "--baseline" => o with { Baseline = Value() },
                "--iterations" => o with { Iterations = int.TryParse(Value(), CultureInfo.InvariantCulture, out int n) && n >= 1 ? n : throw new ArgumentException($"--iterations must be an integer >= 1; got '{args[i]}'.", nameof(args)) },
                "--out" => o with { Out = Value() },
                "--compare" => o with { Compare = Value() },
                "--threshold" => o with { Threshold = double.TryParse(Value(), NumberStyles.Float, CultureInfo.InvariantCulture, out double t) && t >= 0 ? t : throw new ArgumentException($"--threshold must be a number >= 0; got '{args[i]}'.", nameof(args)) },
                "--gate-only" => o with { GateOnly = true },
                _ => throw new ArgumentException($"Unknown option '{name}'; see --help.", nameof(args)),
            };
        }

        return o;
    }

    /// <summary>Parses "AxB" into two positive integers.</summary>
    public static (long First, long Second) ParsePair(string shape)
    {
        string[] parts = shape.Split('x');
        if (parts.Length == 2 && long.TryParse(parts[0], CultureInfo.InvariantCulture, out long a) && long.TryParse(parts[1], CultureInfo.InvariantCulture, out long b) && a >= 1 && b >= 1)
        {
            return (a, b);
        }

        throw new ArgumentException($"A shape must be two positive integers joined by 'x' (e.g. 64x1024); got '{shape}'.", nameof(shape));
    }

    private static torch.ScalarType ParseDtype(string text) => text switch
    {
        "float32" => torch.ScalarType.Float32,
        "float64" => torch.ScalarType.Float64,
        "bf16" or "bfloat16" => torch.ScalarType.BFloat16,
        _ => throw new ArgumentException($"--dtype must be float32, float64 or bf16; got '{text}'.", "args"),
    };
}
