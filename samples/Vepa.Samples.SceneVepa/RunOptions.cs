using Vepa.Samples.SceneVepa.Reading;

namespace Vepa.Samples.SceneVepa;

/// <summary>The command line of the main job, parsed and validated before anything trains.</summary>
internal sealed record RunOptions
{
    public string OutputFolder { get; init; } = "scene-vepa-report";

    // 3 seeds keep the default run within 10 minutes on a 2-core machine (4 seeds: 11.1 CPU-minutes measured); --seeds 4 narrows the intervals.
    public const int DefaultSeeds = 3;

    public int Seeds { get; init; } = DefaultSeeds;

    public bool Quick { get; init; }

    public bool Resume { get; init; }

    public Uri? ReaderEndpoint { get; init; }

    public string? ReaderModel { get; init; }

    public int CaptionSteps { get; init; } = 2000;

    public int VepaSteps { get; init; } = 100;

    public double VepaLearningRate { get; init; } = 1e-3;

    public double SftLearningRate { get; init; } = 1e-3;

    public int PromptsPerStep { get; init; } = 32;

    public int SftExamples { get; init; } = 400;

    public int SftSteps { get; init; } = 150;

    public int EvalItems { get; init; } = 600;

    public int ModelDim { get; init; } = 64;

    public int Layers { get; init; } = 2;

    /// <summary>Gets the reward the VEPA stage trains with (<c>--reward</c>).</summary>
    public RewardKind Reward { get; init; } = RewardKind.SufficiencyHonestyRepetition;

    /// <summary>Gets the GRPO group size G (<c>--group-size</c>).</summary>
    public int GroupSize { get; init; } = 4;

    /// <summary>Gets the KL coefficient β against the pre-VEPA model (<c>--beta</c>; 0 turns the KL term off).</summary>
    public double Beta { get; init; } = 0.01;

    /// <summary>Gets a value indicating whether every seed pretrains its own caption model (<c>--caption-per-seed</c>).</summary>
    public bool CaptionPerSeed { get; init; }

    /// <summary>Gets a caption model file to start from instead of pretraining one (<c>--caption-from</c>).</summary>
    public string? CaptionFrom { get; init; }

    /// <summary>Gets a value indicating whether the Table 3 measurements are skipped (<c>--no-table3</c>, for ablations).</summary>
    public bool SkipTable3 { get; init; }

    public bool ShowHelp { get; init; }

    /// <summary>Gets a value indicating whether the VEPA stage samples the next step's rollouts while the current step trains (<c>--overlap</c>; GrpoTrainerOptions.OverlapGeneration).</summary>
    public bool Overlap { get; init; }

    public const string Usage = """
        SceneVepa: a VEPA stage on rendered scenes with a small vision-language policy (the paper's three measurements in miniature).

        usage: dotnet run -c Release --project samples/Vepa.Samples.SceneVepa -- [options]

          --out DIR               report folder (default scene-vepa-report); checkpoints go under DIR/checkpoints
          --seeds N               seeds for VEPA, SFT and evaluation (default 3; intervals are 95 % t intervals over seeds)
          --quick                 smoke configuration: 1 seed, short stages (about a minute)
          --resume                continue from the checkpoints in DIR (stages already finished are loaded, not rerun)
          --caption-steps N       caption pretraining steps (default 2000)
          --vepa-steps N          VEPA (GRPO) steps per seed (default 100)
          --prompts-per-step N    VEPA prompts per step, each sampled G times (default 32)
          --group-size N          GRPO group size G, completions per prompt (default 4)
          --beta X                KL coefficient against the pre-VEPA model (default 0.01; 0 turns the KL term off)
          --reward KIND           the VEPA reward: shg (R = s·h·γ, the paper's Eq. 11, default), s (sufficiency alone),
                                  sh (s·h), signed (the paper's appendix: +1 correct, -1 cheating, -0.5 repetition), or
                                  grounded (s·h·γ·g, g = 1 only when the scene graph makes every stated fact true)
          --caption-per-seed      pretrain a caption model per seed (its own initialisation and caption stream) instead of one shared
          --caption-from FILE     start from this caption model (a checkpoints/caption.pt of an earlier run) instead of pretraining
          --no-table3             skip the Table 3 (corruption) measurements (for ablations)
          --sft-examples N        size of the limited QA set for SFT (default 400)
          --sft-steps N           SFT steps, the same for SFT and VEPA+SFT (default 150)
          --eval-items N          held-out questions before the visual-dependency filter (default 600)
          --vepa-lr X             VEPA learning rate (default 1e-3; the paper's 1e-6 is for a 2B model)
          --sft-lr X              SFT learning rate (default 1e-3)
          --model-dim N           model width (default 64)
          --layers N              decoder layers (default 2)
          --reader-endpoint URL   score evidence with an LLM behind an OpenAI-compatible endpoint instead of the offline reader
          --reader-model NAME     the model name at that endpoint (required with --reader-endpoint)
          --overlap               sample the next VEPA step's rollouts while the current step trains (one-step off-policy)
          -h, --help              this text
        """;

    /// <summary>Parses the arguments; every problem is listed in the exception's message.</summary>
    public static RunOptions Parse(IReadOnlyList<string> args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var problems = new List<string>();
        var options = new RunOptions();
        bool quick = args.Contains("--quick");
        if (quick)
        {
            options = options with { Quick = true, Seeds = 1, CaptionSteps = 700, VepaSteps = 40, PromptsPerStep = 16, SftExamples = 200, SftSteps = 60, EvalItems = 200 };
        }

        for (int i = 0; i < args.Count; i++)
        {
            string arg = args[i];
            switch (arg)
            {
                case "--quick":
                    break;
                case "--resume":
                    options = options with { Resume = true };
                    break;
                case "-h" or "--help":
                    options = options with { ShowHelp = true };
                    break;
                case "--out":
                    options = options with { OutputFolder = Value(ref i) ?? options.OutputFolder };
                    break;
                case "--reader-model":
                    options = options with { ReaderModel = Value(ref i) };
                    break;
                case "--reader-endpoint":
                    string? url = Value(ref i);
                    if (url is not null)
                    {
                        if (Uri.TryCreate(url, UriKind.Absolute, out Uri? uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                        {
                            options = options with { ReaderEndpoint = uri };
                        }
                        else
                        {
                            problems.Add($"--reader-endpoint must be an absolute http or https URL; got \"{url}\".");
                        }
                    }

                    break;
                case "--seeds":
                    options = options with { Seeds = Int(ref i, 1, 20) ?? options.Seeds };
                    break;
                case "--caption-steps":
                    options = options with { CaptionSteps = Int(ref i, 1, 100_000) ?? options.CaptionSteps };
                    break;
                case "--vepa-steps":
                    options = options with { VepaSteps = Int(ref i, 1, 100_000) ?? options.VepaSteps };
                    break;
                case "--prompts-per-step":
                    options = options with { PromptsPerStep = Int(ref i, 1, 1024) ?? options.PromptsPerStep };
                    break;
                case "--sft-examples":
                    options = options with { SftExamples = Int(ref i, 8, 1_000_000) ?? options.SftExamples };
                    break;
                case "--sft-steps":
                    options = options with { SftSteps = Int(ref i, 1, 100_000) ?? options.SftSteps };
                    break;
                case "--eval-items":
                    options = options with { EvalItems = Int(ref i, 20, 1_000_000) ?? options.EvalItems };
                    break;
                case "--vepa-lr":
                    options = options with { VepaLearningRate = Real(ref i) ?? options.VepaLearningRate };
                    break;
                case "--sft-lr":
                    options = options with { SftLearningRate = Real(ref i) ?? options.SftLearningRate };
                    break;
                case "--model-dim":
                    options = options with { ModelDim = Int(ref i, 8, 1024) ?? options.ModelDim };
                    break;
                case "--group-size":
                    options = options with { GroupSize = Int(ref i, 2, 64) ?? options.GroupSize };
                    break;
                case "--beta":
                    string? betaText = Value(ref i);
                    if (betaText is not null)
                    {
                        if (double.TryParse(betaText, NumberStyles.Float, CultureInfo.InvariantCulture, out double beta) && beta >= 0 && beta < 10)
                        {
                            options = options with { Beta = beta };
                        }
                        else
                        {
                            problems.Add($"--beta must be a number in [0, 10); got \"{betaText}\".");
                        }
                    }

                    break;
                case "--reward":
                    string? kind = Value(ref i);
                    if (kind is not null)
                    {
                        RewardKind? reward = kind switch
                        {
                            "shg" => RewardKind.SufficiencyHonestyRepetition,
                            "s" => RewardKind.Sufficiency,
                            "sh" => RewardKind.SufficiencyHonesty,
                            "signed" => RewardKind.Signed,
                            "grounded" => RewardKind.Grounded,
                            _ => null,
                        };
                        if (reward is null)
                        {
                            problems.Add($"--reward must be one of shg, s, sh, signed, grounded; got \"{kind}\".");
                        }
                        else
                        {
                            options = options with { Reward = reward.Value };
                        }
                    }

                    break;
                case "--caption-per-seed":
                    options = options with { CaptionPerSeed = true };
                    break;
                case "--caption-from":
                    string? from = Value(ref i);
                    if (from is not null)
                    {
                        if (File.Exists(from))
                        {
                            options = options with { CaptionFrom = from };
                        }
                        else
                        {
                            problems.Add($"--caption-from: the file \"{from}\" does not exist.");
                        }
                    }

                    break;
                case "--no-table3":
                    options = options with { SkipTable3 = true };
                    break;
                case "--overlap":
                    options = options with { Overlap = true };
                    break;
                case "--layers":
                    options = options with { Layers = Int(ref i, 1, 24) ?? options.Layers };
                    break;
                default:
                    problems.Add($"Unknown option \"{arg}\".");
                    break;
            }
        }

        if (options.ModelDim % 4 != 0)
        {
            problems.Add($"--model-dim must be a multiple of the 4 attention heads; got {options.ModelDim}.");
        }

        if ((options.ReaderEndpoint is null) != (options.ReaderModel is null))
        {
            problems.Add("--reader-endpoint and --reader-model go together: give both or neither.");
        }

        if (options.CaptionPerSeed && options.CaptionFrom is not null)
        {
            problems.Add("--caption-per-seed and --caption-from exclude each other: one pretrains a caption model per seed, the other loads one.");
        }

        if (problems.Count > 0)
        {
            throw new ArgumentException(string.Join(Environment.NewLine, problems));
        }

        return options;

        string? Value(ref int i)
        {
            if (i + 1 >= args.Count || args[i + 1].StartsWith("--", StringComparison.Ordinal))
            {
                problems.Add($"{args[i]} needs a value.");
                return null;
            }

            i++;
            return args[i];
        }

        double? Real(ref int i)
        {
            string name = args[i];
            string? text = Value(ref i);
            if (text is null)
            {
                return null;
            }

            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double value) || !(value > 0 && value < 1))
            {
                problems.Add($"{name} must be a number in (0, 1); got \"{text}\".");
                return null;
            }

            return value;
        }

        int? Int(ref int i, int min, int max)
        {
            string name = args[i];
            string? text = Value(ref i);
            if (text is null)
            {
                return null;
            }

            if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) || value < min || value > max)
            {
                problems.Add($"{name} must be an integer in [{min}, {max}]; got \"{text}\".");
                return null;
            }

            return value;
        }
    }
}
