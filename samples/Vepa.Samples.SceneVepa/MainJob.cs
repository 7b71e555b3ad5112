using System.Diagnostics;
using System.Text.Json;
using Spectre.Console;
using TorchSharp;
using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.Report;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa;

/// <summary>The whole run: caption pretraining, then per seed the VEPA stage, SFT and VEPA+SFT, the measurements, and the report.</summary>
internal sealed class MainJob(RunOptions options, IRewardModel trainingReward, string trainingReaderName, IAnsiConsole console)
{
    private const int CaptionBatch = 64;
    private const int SftBatch = 32;
    private const int ExampleScenes = 4;

    public async Task<RunResult> RunAsync(CancellationToken cancellationToken)
    {
        var clock = Stopwatch.StartNew();
        torch.set_num_threads(1); // the model is tiny: one thread beats two that wait on each other (and on a busy machine)
        string root = options.OutputFolder;
        Directory.CreateDirectory(root);
        var size = new VlmSize(options.ModelDim, options.Layers);
        var data = await SceneData.CreateAsync(options.EvalItems, cancellationToken).ConfigureAwait(false);
        console.MarkupLine(Inv($"[grey]{data.HeldOut.Count} held-out questions, {data.Demanding.Count} visually demanding (the question-only prior gets them wrong); VEPA reads with the {trainingReaderName}.[/]"));

        using var strictReward = new SufficiencyRewardModel(new SceneBlindReader(strict: true));
        using var lenientReward = new SufficiencyRewardModel(new SceneBlindReader(strict: false));
        var readers = new List<(string Name, IRewardModel Reward)> { ("training reader", lenientReward), ("strict reader", strictReward) };
        if (trainingReaderName != "training reader")
        {
            readers.Insert(0, (trainingReaderName, trainingReward));
        }

        var seeds = new List<SeedResult>();
        double captionLoss = double.NaN;
        string loadAtStart = LoadAverage();
        await console.Progress()
            .AutoClear(false)
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
            .StartAsync(async ctx =>
            {
                // (a) caption pretraining: one base model for every seed, as the paper starts every run from one pretrained VLM
                // (or, with --caption-per-seed, one per seed so that the spread also covers the base model).
                SceneVlm? shared = null;
                if (!options.CaptionPerSeed)
                {
                    (shared, captionLoss) = Caption(ctx, size, root, 0, cancellationToken);
                }

                using var sharedCaption = shared;
                using var demandingImages = Batches.Images(data.Demanding.Select(i => i.Scene).ToList());
                for (int seed = 1; seed <= options.Seeds; seed++)
                {
                    string seedFolder = Path.Combine(root, Inv($"seed-{seed}"));
                    string resultPath = Path.Combine(seedFolder, "result.json");
                    if (options.Resume && File.Exists(resultPath))
                    {
                        var loaded = JsonSerializer.Deserialize<SeedResult>(File.ReadAllText(resultPath), ReportWriter.JsonOptions)!;
                        string vepaFile = Path.Combine(seedFolder, "vepa.pt");
                        if (loaded.VepaFaithfulnessAll is null && File.Exists(vepaFile))
                        {
                            // A result written before the all-held-out faithfulness existed: measure it from the saved models.
                            using var savedVepa = ModelFiles.Load(size, vepaFile);
                            SceneVlm? ownSaved = sharedCaption is null ? ModelFiles.Load(size, Path.Combine(seedFolder, "checkpoints", "caption.pt")) : null;
                            using var ownSavedCaption = ownSaved;
                            loaded = loaded with
                            {
                                CaptionFaithfulnessAll = await FaithfulnessAllAsync(sharedCaption ?? ownSavedCaption!, data, readers[0].Reward, cancellationToken).ConfigureAwait(false),
                                VepaFaithfulnessAll = await FaithfulnessAllAsync(savedVepa, data, readers[0].Reward, cancellationToken).ConfigureAwait(false),
                            };
                            File.WriteAllText(resultPath, JsonSerializer.Serialize(loaded, ReportWriter.JsonOptions));
                        }

                        seeds.Add(loaded);
                        ctx.AddTask(Inv($"seed {seed}: loaded from {resultPath}"), maxValue: 1).Value = 1;
                        continue;
                    }

                    var seedClock = Stopwatch.StartNew();
                    Directory.CreateDirectory(seedFolder);
                    double captionSeconds = 0;
                    SceneVlm? own = null;
                    if (sharedCaption is null)
                    {
                        var captionClock = Stopwatch.StartNew();
                        (own, double loss) = Caption(ctx, size, seedFolder, seed, cancellationToken);
                        captionLoss = double.IsNaN(captionLoss) ? loss / options.Seeds : captionLoss + (loss / options.Seeds);
                        captionSeconds = captionClock.Elapsed.TotalSeconds;
                    }

                    using var ownCaption = own;
                    var captionModel = sharedCaption ?? ownCaption!;
                    var result = await SeedAsync(ctx, captionModel, size, data, readers, demandingImages, seed, seedFolder, cancellationToken).ConfigureAwait(false);
                    result = result with { Seconds = seedClock.Elapsed.TotalSeconds, CaptionSeconds = captionSeconds };
                    File.WriteAllText(resultPath, JsonSerializer.Serialize(result, ReportWriter.JsonOptions));
                    seeds.Add(result);
                }
            }).ConfigureAwait(false);

        if (Charts.Font is null)
        {
            console.MarkupLine("[yellow]No TrueType font found (looked under the usual font folders): the charts will have no text.[/]");
        }

        var run = new RunResult(options, seeds, captionLoss, options.SftExamples, data.HeldOut.Count, data.Demanding.Count, clock.Elapsed.TotalSeconds, Machine(), trainingReaderName,
            Process.GetCurrentProcess().TotalProcessorTime.TotalSeconds, Inv($"{loadAtStart} at the start, {LoadAverage()} at the end"), AnswerBalance(data.Demanding));
        ReportWriter.Write(run, root);
        return run;
    }

    // Caption pretraining (stream 0: the shared model, in root/checkpoints; stream s: seed s's own, in its folder), or the model of
    // --caption-from, or the finished stage of an interrupted run (--resume).
    private (SceneVlm Model, double Loss) Caption(ProgressContext ctx, VlmSize size, string folder, int stream, CancellationToken cancellationToken)
    {
        string captionPath = Path.Combine(folder, "checkpoints", "caption.pt");
        string captionInfo = Path.Combine(folder, "checkpoints", "caption.json");
        string label = stream == 0 ? "caption pretraining" : Inv($"seed {stream}: caption pretraining");
        var task = ctx.AddTask(label, maxValue: options.CaptionSteps);
        if (options.CaptionFrom is { } from)
        {
            task.Description = Inv($"{label} (loaded from {from})");
            task.Value = options.CaptionSteps;
            string info = Path.ChangeExtension(from, ".json");
            return (ModelFiles.Load(size, from), File.Exists(info) ? JsonSerializer.Deserialize<double>(File.ReadAllText(info)) : double.NaN);
        }

        if (options.Resume && File.Exists(captionPath) && File.Exists(captionInfo))
        {
            double loaded = JsonSerializer.Deserialize<double>(File.ReadAllText(captionInfo));
            task.Description = Inv($"{label} (loaded, loss {loaded:0.000})");
            task.Value = options.CaptionSteps;
            return (ModelFiles.Load(size, captionPath), loaded);
        }

        torch.manual_seed(stream);
        var caption = new SceneVlm(size, new torch.Generator((ulong)stream));
        double loss = Supervised.Train(caption, options.CaptionSteps, step => SceneData.CaptionBatch(step, CaptionBatch, stream), 3e-3,
            (step, l) =>
            {
                task.Value = step;
                if (step % 50 == 0)
                {
                    task.Description = Inv($"{label} (loss {l:0.000})");
                }
            },
            cancellationToken);
        ModelFiles.Save(caption, captionPath);
        File.WriteAllText(captionInfo, JsonSerializer.Serialize(loss, ReportWriter.JsonOptions));
        DrainFinalizers();
        return (caption, loss);
    }

    // One seed: the VEPA stage, SFT and VEPA+SFT, and every measurement.
    private async Task<SeedResult> SeedAsync(
        ProgressContext ctx, SceneVlm captionModel, VlmSize size, SceneData data, List<(string Name, IRewardModel Reward)> readers, torch.Tensor demandingImages,
        int seed, string seedFolder, CancellationToken cancellationToken)
    {
        // (b) the VEPA stage, through the trainer.
        var vepaTask = ctx.AddTask(Inv($"seed {seed}: VEPA"), maxValue: options.VepaSteps);
        string vepaPath = Path.Combine(seedFolder, "vepa.pt");
        string curvePath = Path.Combine(seedFolder, "vepa-curve.json");
        SceneVlm vepa;
        List<VepaStepPoint> curve;
        if (options.Resume && File.Exists(vepaPath) && File.Exists(curvePath))
        {
            vepa = ModelFiles.Load(size, vepaPath);
            curve = JsonSerializer.Deserialize<List<VepaStepPoint>>(File.ReadAllText(curvePath), ReportWriter.JsonOptions)!;
            vepaTask.Value = options.VepaSteps;
        }
        else
        {
            (vepa, curve) = await VepaStage.RunAsync(captionModel, trainingReward, data, options, seed, seedFolder, options.Resume,
                record =>
                {
                    vepaTask.Value = record.Step;
                    vepaTask.Description = Inv($"seed {seed}: VEPA (reward {record.RewardMean:0.00}, length {record.CompletionLengthMean:0.0})");
                },
                cancellationToken).ConfigureAwait(false);
            ModelFiles.Save(vepa, vepaPath);
            File.WriteAllText(curvePath, JsonSerializer.Serialize(curve, ReportWriter.JsonOptions));
        }

        using var vepaModel = vepa;
        DrainFinalizers();

        // (c) SFT on the same limited QA set, same budget and seed, from the caption model and from the VEPA model.
        var sftSet = SceneData.SftSet(seed, options.SftExamples);
        using var sft = FineTune(ctx, captionModel, sftSet, seed, Path.Combine(seedFolder, "sft.pt"), Inv($"seed {seed}: SFT"), size, cancellationToken);
        using var vepaSft = FineTune(ctx, vepaModel, sftSet, seed, Path.Combine(seedFolder, "vepa-sft.pt"), Inv($"seed {seed}: VEPA+SFT"), size, cancellationToken);

        // (d) evaluation on the held-out visually demanding questions.
        var evalTask = ctx.AddTask(Inv($"seed {seed}: evaluation"), maxValue: options.SkipTable3 ? 3 : 5);
        var items = data.Demanding;
        var sftAccuracy = Evaluation.Accuracy(sft, items, demandingImages);
        var vepaSftAccuracy = Evaluation.Accuracy(vepaSft, items, demandingImages);
        evalTask.Increment(1);
        string[] captionEvidence = Evaluation.Evidence(captionModel, items, demandingImages);
        string[] vepaEvidence = Evaluation.Evidence(vepaModel, items, demandingImages);
        var captionScores = new List<EvidenceScore>();
        var vepaScores = new List<EvidenceScore>();
        double[]? captionS = null, vepaS = null;
        foreach (var (name, reward) in readers)
        {
            var (captionScore, cs) = await Evaluation.ScoreEvidenceAsync(name, reward, items, captionEvidence, cancellationToken).ConfigureAwait(false);
            var (vepaScore, vs) = await Evaluation.ScoreEvidenceAsync(name, reward, items, vepaEvidence, cancellationToken).ConfigureAwait(false);
            captionScores.Add(captionScore);
            vepaScores.Add(vepaScore);
            captionS ??= cs; // the faithfulness split uses the reader VEPA trained against (the first)
            vepaS ??= vs;
        }

        var captionFaithfulness = Evaluation.Faithfulness(items, captionEvidence, captionS!);
        var vepaFaithfulness = Evaluation.Faithfulness(items, vepaEvidence, vepaS!);
        evalTask.Increment(1);
        var result = new SeedResult
        {
            Seed = seed,
            Seconds = 0,
            VepaCurve = curve,
            RewardStart = curve.Take(Math.Max(1, curve.Count / 10)).Average(p => p.MeanReward),
            RewardEnd = curve.Skip(curve.Count - Math.Max(1, curve.Count / 10)).Average(p => p.MeanReward),
            SftAccuracy = sftAccuracy,
            VepaSftAccuracy = vepaSftAccuracy,
            CaptionEvidence = captionScores,
            VepaEvidence = vepaScores,
            CaptionFaithfulness = captionFaithfulness,
            VepaFaithfulness = vepaFaithfulness,
            CaptionFaithfulnessAll = await FaithfulnessAllAsync(captionModel, data, readers[0].Reward, cancellationToken).ConfigureAwait(false),
            VepaFaithfulnessAll = await FaithfulnessAllAsync(vepaModel, data, readers[0].Reward, cancellationToken).ConfigureAwait(false),
            Examples = Examples(items, captionEvidence, vepaEvidence, Path.GetDirectoryName(seedFolder)!, seed),
        };
        evalTask.Increment(1);
        if (options.SkipTable3)
        {
            return result;
        }

        // Table 3 and its investigation: accuracy per family under each corruption, the question-alone floor, and the evidence itself under corruption.
        var sftCorrupted = new Dictionary<string, Dictionary<string, double[]>>(StringComparer.Ordinal);
        var vepaSftCorrupted = new Dictionary<string, Dictionary<string, double[]>>(StringComparer.Ordinal);
        var captionEvidenceCorrupted = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var vepaEvidenceCorrupted = new Dictionary<string, double[]>(StringComparer.Ordinal);
        var trainingReader = readers.First(r => r.Name == "training reader").Reward;
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            sftCorrupted[kind.ToString()] = Evaluation.CorruptedAccuracy(sft, items, demandingImages, kind, seed);
            vepaSftCorrupted[kind.ToString()] = Evaluation.CorruptedAccuracy(vepaSft, items, demandingImages, kind, seed);
        }

        evalTask.Increment(1);
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            captionEvidenceCorrupted[kind.ToString()] = await Evaluation.CorruptedEvidenceAsync(captionModel, trainingReader, items, demandingImages, kind, seed, cancellationToken).ConfigureAwait(false);
            vepaEvidenceCorrupted[kind.ToString()] = await Evaluation.CorruptedEvidenceAsync(vepaModel, trainingReader, items, demandingImages, kind, seed, cancellationToken).ConfigureAwait(false);
        }

        evalTask.Increment(1);
        return result with
        {
            SftCorrupted = sftCorrupted,
            VepaSftCorrupted = vepaSftCorrupted,
            SftRetention = sftCorrupted.ToDictionary(k => k.Key, k => Evaluation.Retention(k.Value[Evaluation.Overall]), StringComparer.Ordinal),
            VepaSftRetention = vepaSftCorrupted.ToDictionary(k => k.Key, k => Evaluation.Retention(k.Value[Evaluation.Overall]), StringComparer.Ordinal),
            SftBlind = Evaluation.BlindAccuracy(sft, items, demandingImages),
            VepaSftBlind = Evaluation.BlindAccuracy(vepaSft, items, demandingImages),
            CaptionEvidenceCorrupted = captionEvidenceCorrupted,
            VepaEvidenceCorrupted = vepaEvidenceCorrupted,
        };
    }

    // Faithfulness of a model's greedy evidence on every held-out question, the prior-guessable ones included.
    private static async Task<Dictionary<string, FaithfulnessScore>> FaithfulnessAllAsync(SceneVlm model, SceneData data, IRewardModel reader, CancellationToken cancellationToken)
    {
        using var images = Batches.Images(data.HeldOut.Select(i => i.Scene).ToList());
        string[] evidence = Evaluation.Evidence(model, data.HeldOut, images);
        var (_, s) = await Evaluation.ScoreEvidenceAsync("reader", reader, data.HeldOut, evidence, cancellationToken).ConfigureAwait(false);
        return Evaluation.Faithfulness(data.HeldOut, evidence, s);
    }

    // Per yes/no question family of the visually demanding split: how many items, and how many of them have the gold answer "yes".
    private static Dictionary<string, string> AnswerBalance(IReadOnlyList<VqaItem> items) =>
        items.Where(i => i.Gold is "yes" or "no").GroupBy(i => i.Family).OrderBy(g => g.Key)
            .ToDictionary(g => g.Key.ToString(), g => Inv($"{g.Count(i => i.Gold == "yes")} of {g.Count()} \"yes\""), StringComparer.Ordinal);

    private static string LoadAverage()
    {
        try
        {
            return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return "n/a";
        }
    }

    // Runs pending finalizers between stages (see SceneVlm.One): a stage leaves many TorchSharp objects to finalize, and a
    // finalizer that frees native memory while a later op still uses it crashed two runs at the start of SFT.
    private static void DrainFinalizers()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
    }

    private SceneVlm FineTune(ProgressContext ctx, SceneVlm start, IReadOnlyList<VqaItem> set, int seed, string path, string label, VlmSize size, CancellationToken cancellationToken)
    {
        var task = ctx.AddTask(label, maxValue: options.SftSteps);
        if (options.Resume && File.Exists(path))
        {
            task.Value = options.SftSteps;
            return ModelFiles.Load(size, path);
        }

        torch.manual_seed(seed);
        var model = start.Copy();
        var order = new Random(seed);
        var shuffled = new List<VqaItem>();
        Supervised.Train(model, options.SftSteps, _ =>
        {
            // A QA set smaller than a batch is reshuffled as often as a batch needs (--sft-examples may be 8).
            while (shuffled.Count < SftBatch)
            {
                shuffled.AddRange(set.OrderBy(_ => order.Next()));
            }

            var batch = shuffled.Take(SftBatch).Select(i => new SupervisedExample(i.Scene, i.Question, Vocabulary.AnswerTask, i.Gold)).ToList();
            shuffled.RemoveRange(0, SftBatch);
            return batch;
        }, options.SftLearningRate, (step, _) => task.Value = step, cancellationToken);
        ModelFiles.Save(model, path);
        DrainFinalizers();
        return model;
    }

    // One example per family where the VEPA model's evidence is judged, with the scene drawn to a PNG.
    private static List<SceneExample> Examples(IReadOnlyList<VqaItem> items, string[] before, string[] after, string root, int seed)
    {
        var reader = new SceneBlindReader(strict: false);
        var examples = new List<SceneExample>();
        var seen = new HashSet<QuestionFamily>();
        string folder = Path.Combine(root, "scenes");
        Directory.CreateDirectory(folder);
        for (int i = 0; i < items.Count && examples.Count < ExampleScenes; i++)
        {
            if (!seen.Add(items[i].Family))
            {
                continue;
            }

            string file = Inv($"scenes/seed-{seed}-{examples.Count + 1}.png");
            Charts.SceneImage(items[i].Scene, Path.Combine(root, file));
            examples.Add(new SceneExample(
                file,
                string.Join(", ", items[i].Scene.Objects.Select(o => o.Phrase)),
                items[i].Question + (items[i].Choices is { } c ? " (choices: " + string.Join(" / ", c) + ")" : string.Empty),
                items[i].Gold,
                before[i],
                reader.Read(items[i].Question, before[i]).Answer,
                after[i],
                reader.Read(items[i].Question, after[i]).Answer));
        }

        return examples;
    }

    public static string Machine() =>
        Inv($"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription.Trim()}, .NET {Environment.Version}, TorchSharp CPU ({torch.get_num_threads()} threads)");

    private static string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
}
