using System.Text;
using System.Text.Json;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Report;

/// <summary>The report's tables (as rows, shared by the console and report.md) and the report folder.</summary>
internal static class ReportWriter
{
    public static readonly string[] Readers = ["training reader", "strict reader"];

    public static IReadOnlyList<string> AccuracyRows => [.. QuestionGenerator.Families.Select(f => f.ToString()), Evaluation.Overall];

    /// <summary>Table 1: SFT vs VEPA+SFT accuracy on held-out visually demanding questions, per family and overall.</summary>
    public static List<string[]> Table1(IReadOnlyList<SeedResult> seeds) => AccuracyRows.Select(row =>
    {
        var sft = seeds.Select(s => s.SftAccuracy[row]).ToList();
        var vepa = seeds.Select(s => s.VepaSftAccuracy[row]).ToList();
        var delta = seeds.Select(s => s.VepaSftAccuracy[row] - s.SftAccuracy[row]).ToList();
        return new[] { row, Stats.Format(sft), Stats.Format(vepa), Stats.Format(delta), Verdict(delta) };
    }).ToList();

    /// <summary>Table 2: blind-reader accuracy from evidence written by the caption model and by the VEPA model.</summary>
    public static List<string[]> Table2(IReadOnlyList<SeedResult> seeds)
    {
        var rows = new List<string[]>();
        foreach (string reader in seeds[0].CaptionEvidence.Select(e => e.Reader))
        {
            foreach (var (model, pick) in new (string, Func<SeedResult, IReadOnlyList<EvidenceScore>>)[] { ("caption model", s => s.CaptionEvidence), ("VEPA model", s => s.VepaEvidence) })
            {
                var scores = seeds.Select(s => pick(s).First(e => e.Reader == reader)).ToList();
                rows.Add([reader, model, Stats.Format(scores.Select(e => e.Accuracy)), Stats.Format(scores.Select(e => e.CheatRate)), Stats.Format(scores.Select(e => e.MeanLength), "0.0")]);
            }
        }

        return rows;
    }

    /// <summary>Table 3: accuracy retention under corruption, with the area under the retention curve.</summary>
    public static List<string[]> Table3(IReadOnlyList<SeedResult> seeds)
    {
        var rows = new List<string[]>();
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            string key = kind.ToString();
            foreach (var (model, pick) in new (string, Func<SeedResult, Dictionary<string, double[]>>)[] { ("SFT", s => s.SftRetention), ("VEPA+SFT", s => s.VepaSftRetention) })
            {
                var curves = seeds.Select(s => pick(s)[key]).ToList();
                var cells = new List<string> { key, model };
                for (int l = 1; l < Corruption.Levels(kind).Length; l++)
                {
                    cells.Add(Stats.Format(curves.Select(c => c[l]), "0.00"));
                }

                cells.Add(Stats.Format(curves.Select(Evaluation.AreaUnderRetention)));
                rows.Add([.. cells]);
            }
        }

        return rows;
    }

    public static string[] Table3Header(CorruptionKind kind) =>
        ["corruption", "model", .. Corruption.Levels(kind).Skip(1).Select(l => Corruption.LevelName(kind, l)), "AUC"];

    /// <summary>"yes" when the mean difference exceeds the seed spread of the difference (and is positive).</summary>
    public static string Verdict(IReadOnlyList<double> delta)
    {
        if (delta.Count < 2)
        {
            return "1 seed: no spread";
        }

        double mean = Stats.Mean(delta), spread = Stats.Spread(delta);
        return mean > spread ? "VEPA better (Δ > spread)" : mean < -spread ? "VEPA worse (Δ < −spread)" : "within spread";
    }

    public static void Write(RunResult run, string folder)
    {
        Directory.CreateDirectory(folder);
        var seeds = run.Seeds;
        Charts.VepaCurves(seeds, Path.Combine(folder, "vepa-reward.png"));
        var rows = AccuracyRows;
        Charts.GroupedBars(
            "Table 1 analogue: accuracy on held-out visually demanding questions",
            "accuracy",
            rows,
            [
                ("SFT", rows.Select(r => Stats.Mean(seeds.Select(s => s.SftAccuracy[r]))).ToArray(), rows.Select(r => Stats.Spread(seeds.Select(s => s.SftAccuracy[r]))).ToArray()),
                ("VEPA+SFT", rows.Select(r => Stats.Mean(seeds.Select(s => s.VepaSftAccuracy[r]))).ToArray(), rows.Select(r => Stats.Spread(seeds.Select(s => s.VepaSftAccuracy[r]))).ToArray()),
            ],
            Path.Combine(folder, "table1-accuracy.png"));
        var readers = seeds[0].CaptionEvidence.Select(e => e.Reader).ToList();
        Charts.GroupedBars(
            "Table 2 analogue: blind-reader accuracy from the model's evidence",
            "reader accuracy (mean s)",
            readers,
            [
                ("caption model", readers.Select(r => Stats.Mean(seeds.Select(s => s.CaptionEvidence.First(e => e.Reader == r).Accuracy))).ToArray(), readers.Select(r => Stats.Spread(seeds.Select(s => s.CaptionEvidence.First(e => e.Reader == r).Accuracy))).ToArray()),
                ("VEPA model", readers.Select(r => Stats.Mean(seeds.Select(s => s.VepaEvidence.First(e => e.Reader == r).Accuracy))).ToArray(), readers.Select(r => Stats.Spread(seeds.Select(s => s.VepaEvidence.First(e => e.Reader == r).Accuracy))).ToArray()),
            ],
            Path.Combine(folder, "table2-evidence.png"));
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            string key = kind.ToString();
            Charts.Retention(
                $"Table 3 analogue: accuracy retention under {(kind == CorruptionKind.GaussianNoise ? "Gaussian noise" : "masked patches")}",
                Corruption.Levels(kind).Select(l => Corruption.LevelName(kind, l)).ToArray(),
                [
                    ("SFT", MeanCurve(seeds.Select(s => s.SftRetention[key]))),
                    ("VEPA+SFT", MeanCurve(seeds.Select(s => s.VepaSftRetention[key]))),
                ],
                Path.Combine(folder, $"table3-{(kind == CorruptionKind.GaussianNoise ? "noise" : "mask")}.png"));
        }

        File.WriteAllText(Path.Combine(folder, "results.json"), JsonSerializer.Serialize(run, JsonOptions));
        File.WriteAllText(Path.Combine(folder, "report.md"), Markdown(run));
    }

    public static readonly JsonSerializerOptions JsonOptions = new() { WriteIndented = true, NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals };

    private static double[] MeanCurve(IEnumerable<double[]> curves)
    {
        var list = curves.ToList();
        return Enumerable.Range(0, list[0].Length).Select(i => Stats.Mean(list.Select(c => c[i]))).ToArray();
    }

    public static string Markdown(RunResult run)
    {
        var seeds = run.Seeds;
        var o = run.Options;
        var md = new StringBuilder();
        string Inv(FormattableString s) => s.ToString(CultureInfo.InvariantCulture);
        md.AppendLine("# SceneVepa report");
        md.AppendLine();
        md.AppendLine(Inv($"{seeds.Count} seed(s) ({string.Join(", ", seeds.Select(s => s.Seed))}); wall time {run.WallSeconds / 60:0.0} min (this invocation{(o.Resume ? ", resumed: finished stages were loaded" : string.Empty)}) on {run.Machine}. Values are mean ± sample standard deviation over seeds."));
        md.AppendLine();
        md.AppendLine(Inv($"Configuration: {(o.Quick ? "--quick, " : string.Empty)}caption pretraining {o.CaptionSteps} steps (caption loss {run.CaptionLoss:0.000}), VEPA {o.VepaSteps} steps × {o.PromptsPerStep} prompts × G = 4, SFT {o.SftSteps} steps on {o.SftExamples} QA items, model d = {o.ModelDim}, {o.Layers} layers. Held-out: {run.HeldOutItems} questions, {run.DemandingItems} visually demanding (the question-only prior reader gets them wrong; `VisualDependencyFilter`). VEPA trained against: {run.TrainingReader}."));
        md.AppendLine();
        md.AppendLine("## VEPA stage: the sufficiency reward");
        md.AppendLine();
        md.AppendLine(Inv($"Mean reward over the first tenth of the steps {Stats.Format(seeds.Select(s => s.RewardStart))}, over the last tenth {Stats.Format(seeds.Select(s => s.RewardEnd))} (paper: about 0.3 → 0.7)."));
        md.AppendLine();
        md.AppendLine("![VEPA reward](vepa-reward.png)");
        md.AppendLine();
        md.AppendLine("## Table 1 analogue: SFT vs VEPA+SFT");
        md.AppendLine();
        md.AppendLine("Accuracy on held-out visually demanding questions (greedy answers, same SFT data, budget and seeds for both).");
        md.AppendLine();
        AppendTable(md, ["family", "SFT", "VEPA+SFT", "Δ (VEPA+SFT − SFT)", "verdict"], Table1(seeds));
        md.AppendLine("![Table 1](table1-accuracy.png)");
        md.AppendLine();
        md.AppendLine("## Table 2 analogue: evidence sufficiency");
        md.AppendLine();
        md.AppendLine("Blind-reader accuracy (mean s) from greedy evidence on the visually demanding held-out questions; cheat rate = share of evidence the reader flags as stating an answer without the scene; length in words. The strict reader was never trained against: it reads only evidence whose every segment is exactly one fact.");
        md.AppendLine();
        AppendTable(md, ["reader", "evidence from", "reader accuracy", "cheat rate", "mean length"], Table2(seeds));
        md.AppendLine("![Table 2](table2-evidence.png)");
        md.AppendLine();
        md.AppendLine("## Table 3 analogue: visual reliance");
        md.AppendLine();
        md.AppendLine("Accuracy under corruption divided by clean accuracy (held-out visually demanding questions); AUC = mean of the trapezoids over the levels, 1 = no loss. A lower curve means the model relies more on the image.");
        md.AppendLine();
        var table3 = Table3(seeds);
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            AppendTable(md, Table3Header(kind), table3.Where(r => r[0] == kind.ToString()).ToList());
            md.AppendLine(Inv($"![Table 3 {kind}](table3-{(kind == CorruptionKind.GaussianNoise ? "noise" : "mask")}.png)"));
            md.AppendLine();
        }

        md.AppendLine("## Scenes: evidence before and after VEPA");
        md.AppendLine();
        foreach (var e in seeds[0].Examples)
        {
            md.AppendLine(Inv($"![scene]({e.ImageFile})"));
            md.AppendLine();
            md.AppendLine(Inv($"- scene: {e.Truth}"));
            md.AppendLine(Inv($"- question: **{e.Question}** (gold: {e.Gold})"));
            md.AppendLine(Inv($"- caption model's evidence: \"{e.EvidenceBefore}\" → reader: {Show(e.AnswerBefore)}"));
            md.AppendLine(Inv($"- VEPA model's evidence: \"{e.EvidenceAfter}\" → reader: {Show(e.AnswerAfter)}"));
            md.AppendLine();
        }

        md.AppendLine("## Files");
        md.AppendLine();
        md.AppendLine("- `results.json`: every number above, per seed.");
        md.AppendLine("- `seed-N/vepa-steps.jsonl`: the trainer's JSON-lines step log of the VEPA stage.");
        md.AppendLine("- `checkpoints/`: the stage checkpoints (`--resume` continues from them).");
        return md.ToString();
    }

    private static string Show(string answer) => string.IsNullOrEmpty(answer) ? "(no answer)" : $"\"{answer}\"";

    private static void AppendTable(StringBuilder md, IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        md.AppendLine("| " + string.Join(" | ", header) + " |");
        md.AppendLine("|" + string.Concat(Enumerable.Repeat("---|", header.Count)));
        foreach (var row in rows)
        {
            md.AppendLine("| " + string.Join(" | ", row) + " |");
        }

        md.AppendLine();
    }
}
