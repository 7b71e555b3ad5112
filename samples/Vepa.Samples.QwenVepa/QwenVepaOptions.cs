namespace Vepa.Samples.QwenVepa;

/// <summary>The command line of the sample.</summary>
internal sealed record QwenVepaOptions
{
    public const string Usage = """
        QwenVepa: the VEPA stage (GRPO with a blind-reader sufficiency reward) on a Qwen snapshot folder.

        usage: dotnet run -c Release --project samples/Vepa.Samples.QwenVepa -- --model DIR [options]

          --model DIR             a Hugging Face snapshot folder: Qwen2-VL (images) or Qwen2 / Qwen2.5 / Qwen3 (the scene in words)
          --reader-endpoint URL   score evidence with an LLM behind an OpenAI-compatible endpoint (key: READER_API_KEY)
          --reader-model NAME     the model name at that endpoint (required with --reader-endpoint)
          --out DIR               checkpoints, the step log and the trained snapshot (default: qwen-vepa-out)
          --steps N               GRPO steps (default 20)
          --prompts N             VQA items per step (default 4)
          --group-size G          completions per item (default 4, the paper's)
          --max-new-tokens N      longest evidence in tokens (default 128)
          --learning-rate X       AdamW learning rate (default 1e-6, the paper's for a 2B model)
          --image-size PX         side of the rendered scenes (default 224)
          --device cpu|cuda       where the model runs (default cpu; cuda needs the TorchSharp-cuda package, see docs/models.md)
          --dtype float32|bfloat16  weight dtype (default float32 on the CPU, bfloat16 on cuda)
          --gradient-checkpointing  recompute each layer in the backward pass (less memory)
          --seed N                run seed (default 1)
        """;

    public string? Model { get; init; }

    public Uri? ReaderEndpoint { get; init; }

    public string? ReaderModel { get; init; }

    public string OutputFolder { get; init; } = "qwen-vepa-out";

    public int Steps { get; init; } = 20;

    public int PromptsPerStep { get; init; } = 4;

    public int GroupSize { get; init; } = 4;

    public int MaxNewTokens { get; init; } = 128;

    public double LearningRate { get; init; } = 1e-6;

    public int ImageSize { get; init; } = 224;

    public string Device { get; init; } = "cpu";

    public string? DType { get; init; }

    public bool GradientCheckpointing { get; init; }

    public int Seed { get; init; } = 1;

    /// <summary>Parses the arguments; returns the options or every problem found.</summary>
    public static (QwenVepaOptions? Options, IReadOnlyList<string> Problems) Parse(IReadOnlyList<string> args)
    {
        var problems = new List<string>();
        var options = new QwenVepaOptions();
        for (int i = 0; i < args.Count; i++)
        {
            string name = args[i];
            string? Value()
            {
                if (i + 1 < args.Count)
                {
                    return args[++i];
                }

                problems.Add($"{name} needs a value.");
                return null;
            }

            int Int(int min)
            {
                string? text = Value();
                if (text is null)
                {
                    return min;
                }

                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out int v) || v < min)
                {
                    problems.Add($"{name} must be an integer >= {min}; got \"{text}\".");
                }

                return v;
            }

            switch (name)
            {
                case "--model": options = options with { Model = Value() }; break;
                case "--reader-model": options = options with { ReaderModel = Value() }; break;
                case "--reader-endpoint":
                    string? url = Value();
                    if (url is not null)
                    {
                        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
                        {
                            options = options with { ReaderEndpoint = uri };
                        }
                        else
                        {
                            problems.Add($"--reader-endpoint must be an absolute http or https URL; got \"{url}\".");
                        }
                    }

                    break;
                case "--out": options = options with { OutputFolder = Value() ?? options.OutputFolder }; break;
                case "--steps": options = options with { Steps = Int(1) }; break;
                case "--prompts": options = options with { PromptsPerStep = Int(1) }; break;
                case "--group-size": options = options with { GroupSize = Int(2) }; break;
                case "--max-new-tokens": options = options with { MaxNewTokens = Int(1) }; break;
                case "--image-size": options = options with { ImageSize = Int(28) }; break;
                case "--seed": options = options with { Seed = Int(0) }; break;
                case "--gradient-checkpointing": options = options with { GradientCheckpointing = true }; break;
                case "--learning-rate":
                    string? lr = Value();
                    if (lr is not null && (!double.TryParse(lr, NumberStyles.Float, CultureInfo.InvariantCulture, out double rate) || !(rate > 0) || !double.IsFinite(rate)))
                    {
                        problems.Add($"--learning-rate must be a positive number; got \"{lr}\".");
                    }
                    else if (lr is not null)
                    {
                        options = options with { LearningRate = double.Parse(lr, CultureInfo.InvariantCulture) };
                    }

                    break;
                case "--device":
                    string? device = Value();
                    if (device is not null and not ("cpu" or "cuda"))
                    {
                        problems.Add($"--device must be cpu or cuda; got \"{device}\".");
                    }

                    options = options with { Device = device ?? "cpu" };
                    break;
                case "--dtype":
                    string? dtype = Value();
                    if (dtype is not null and not ("float32" or "bfloat16"))
                    {
                        problems.Add($"--dtype must be float32 or bfloat16; got \"{dtype}\".");
                    }

                    options = options with { DType = dtype };
                    break;
                default: problems.Add($"Unknown argument \"{name}\"."); break;
            }
        }

        if (options.Model is null)
        {
            problems.Add("--model DIR is required: a Qwen snapshot folder.");
        }
        else if (!Directory.Exists(options.Model))
        {
            problems.Add($"--model: the folder \"{options.Model}\" does not exist.");
        }

        if ((options.ReaderEndpoint is null) != (options.ReaderModel is null))
        {
            problems.Add("--reader-endpoint and --reader-model go together: give both or neither.");
        }

        return problems.Count == 0 ? (options, problems) : (null, problems);
    }
}
