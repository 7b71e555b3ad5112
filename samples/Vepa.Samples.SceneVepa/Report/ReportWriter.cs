using System.Text;
using System.Text.Json;
using Vepa.Samples.SceneVepa.Reading;
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
        return new[] { row, Stats.Format(sft), Stats.Format(vepa), Stats.FormatInterval(delta), Stats.Verdict(delta) };
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
                string delta = model == "caption model" ? string.Empty : Stats.FormatInterval(seeds.Select(s => s.VepaEvidence.First(e => e.Reader == reader).Accuracy - s.CaptionEvidence.First(e => e.Reader == reader).Accuracy));
                rows.Add([reader, model, Stats.Format(scores.Select(e => e.Accuracy)), delta, Stats.Format(scores.Select(e => e.CheatRate)), Stats.Format(scores.Select(e => e.MeanLength), "0.0")]);
            }
        }

        return rows;
    }

    /// <summary>Table 3: accuracy retention under corruption, with the area under the retention curve.</summary>
    public static List<string[]> Table3(IReadOnlyList<SeedResult> seeds)
    {
        var rows = new List<string[]>();
        if (seeds.Any(s => s.SftRetention is null || s.VepaSftRetention is null))
        {
            return rows;
        }

        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            string key = kind.ToString();
            foreach (var (model, pick) in new (string, Func<SeedResult, Dictionary<string, double[]>>)[] { ("SFT", s => s.SftRetention!), ("VEPA+SFT", s => s.VepaSftRetention!) })
            {
                var curves = seeds.Select(s => pick(s)[key]).ToList();
                var cells = new List<string> { key, model };
                for (int l = 1; l < Corruption.Levels(kind).Length; l++)
                {
                    cells.Add(Stats.Format(curves.Select(c => c[l]), "0.00"));
                }

                cells.Add(Stats.Format(curves.Select(Evaluation.AreaUnderRetention)));
                cells.Add(model == "SFT" ? string.Empty : Stats.FormatInterval(seeds.Select(s => Evaluation.AreaUnderRetention(s.VepaSftRetention![key]) - Evaluation.AreaUnderRetention(s.SftRetention![key]))));
                rows.Add([.. cells]);
            }
        }

        return rows;
    }

    public static string[] Table3Header(CorruptionKind kind) =>
        ["corruption", "model", .. Corruption.Levels(kind).Skip(1).Select(l => Corruption.LevelName(kind, l)), "AUC", "Δ AUC [95% CI]"];

    /// <summary>The faithfulness measures, each a name and how to read it from a score.</summary>
    public static readonly (string Name, Func<FaithfulnessScore, double> Pick)[] FaithfulnessMeasures =
    [
        ("precision (true facts / stated facts)", f => f.Precision),
        ("recall (relevant facts stated truly)", f => f.Recall),
        ("hallucination rate (≥ 1 false fact)", f => f.HallucinationRate),
        ("echo rate (queried thing asserted falsely)", f => f.EchoRate),
        ("absent-object echo (exist, gold no)", f => f.AbsentEchoRate),
        ("faithful share (facts, all true)", f => f.FaithfulShare),
        ("reader accuracy given faithful evidence", f => f.AccuracyFaithful),
        ("reader accuracy given unfaithful evidence", f => f.AccuracyUnfaithful),
        ("correct answers not supported by true facts", f => f.CorrectUnsupported),
    ];

    /// <summary>Faithfulness, overall: caption model vs VEPA model with the paired difference and its 95 % t interval.</summary>
    public static List<string[]> FaithfulnessTable(IReadOnlyList<SeedResult> seeds, bool all = false)
    {
        const string row = Evaluation.Overall;
        Dictionary<string, FaithfulnessScore> Caption(SeedResult s) => all ? s.CaptionFaithfulnessAll! : s.CaptionFaithfulness;
        Dictionary<string, FaithfulnessScore> Vepa(SeedResult s) => all ? s.VepaFaithfulnessAll! : s.VepaFaithfulness;
        return FaithfulnessMeasures.Select(m => new[]
        {
            m.Name,
            Stats.Format(seeds.Select(s => m.Pick(Caption(s)[row]))),
            Stats.Format(seeds.Select(s => m.Pick(Vepa(s)[row]))),
            Stats.FormatInterval(seeds.Select(s => m.Pick(Vepa(s)[row]) - m.Pick(Caption(s)[row]))),
        }).ToList();
    }

    private static string AnswerBalance(IReadOnlyDictionary<string, string> balance) =>
        string.Join("; ", balance.Select(b => $"{b.Key}: {b.Value}"));

    /// <summary>Faithfulness per question family: caption model → VEPA model (means over seeds).</summary>
    public static List<string[]> FaithfulnessByFamily(IReadOnlyList<SeedResult> seeds) => AccuracyRows.Select(row =>
    {
        string Pair(Func<FaithfulnessScore, double> pick) =>
            $"{Two(Stats.Mean(seeds.Select(s => pick(s.CaptionFaithfulness[row]))))} → {Two(Stats.Mean(seeds.Select(s => pick(s.VepaFaithfulness[row]))))}";
        return new[]
        {
            row,
            Pair(f => f.Precision),
            Pair(f => f.Recall),
            Pair(f => f.HallucinationRate),
            Pair(f => f.EchoRate),
            Pair(f => f.CorrectUnsupported),
            Pair(f => f.AccuracyFaithful),
        };
    }).ToList();

    private static string Two(double value) => double.IsNaN(value) ? "n/a" : value.ToString("0.00", CultureInfo.InvariantCulture);

    public static readonly string[] FaithfulnessByFamilyHeader =
        ["family", "precision", "recall", "hallucination", "echo", "correct but unsupported", "accuracy given faithful"];

    /// <summary>Table 3 investigation: retention AUC per family (SFT, VEPA+SFT, paired Δ), with clean and question-alone accuracy.</summary>
    public static List<string[]> RetentionByFamily(IReadOnlyList<SeedResult> seeds, CorruptionKind kind)
    {
        string key = kind.ToString();
        return AccuracyRows.Select(row =>
        {
            double Auc(Dictionary<string, Dictionary<string, double[]>> c) => Evaluation.AreaUnderRetention(Evaluation.Retention(c[key][row]));
            return new[]
            {
                row,
                Stats.Format(seeds.Select(s => s.SftCorrupted![key][row][0])),
                Stats.Format(seeds.Select(s => s.VepaSftCorrupted![key][row][0])),
                Stats.Format(seeds.Select(s => s.SftBlind![row])),
                Stats.Format(seeds.Select(s => s.VepaSftBlind![row])),
                Stats.Format(seeds.Select(s => Auc(s.SftCorrupted!))),
                Stats.Format(seeds.Select(s => Auc(s.VepaSftCorrupted!))),
                Stats.FormatInterval(seeds.Select(s => Auc(s.VepaSftCorrupted!) - Auc(s.SftCorrupted!))),
            };
        }).ToList();
    }

    public static readonly string[] RetentionByFamilyHeader =
        ["family", "clean SFT", "clean VEPA+SFT", "all masked SFT", "all masked VEPA+SFT", "AUC SFT", "AUC VEPA+SFT", "Δ AUC [95% CI]"];

    /// <summary>Table 3 investigation: the reader's accuracy from the evidence itself under corruption (caption vs VEPA model).</summary>
    public static List<string[]> EvidenceUnderCorruption(IReadOnlyList<SeedResult> seeds)
    {
        var rows = new List<string[]>();
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            string key = kind.ToString();
            foreach (var (model, pick) in new (string, Func<SeedResult, Dictionary<string, double[]>>)[] { ("caption model", s => s.CaptionEvidenceCorrupted!), ("VEPA model", s => s.VepaEvidenceCorrupted!) })
            {
                var cells = new List<string> { key, model };
                for (int l = 0; l < Corruption.Levels(kind).Length; l++)
                {
                    cells.Add(Stats.Format(seeds.Select(s => pick(s)[key][l]), "0.000"));
                }

                cells.Add(Stats.Format(seeds.Select(s => Evaluation.AreaUnderRetention(Evaluation.Retention(pick(s)[key])))));
                rows.Add([.. cells]);
            }
        }

        return rows;
    }

    public static string[] EvidenceUnderCorruptionHeader(CorruptionKind kind) =>
        ["corruption", "evidence from", .. Corruption.Levels(kind).Select(l => Corruption.LevelName(kind, l)), "retention AUC"];

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
        var measures = FaithfulnessMeasures.Take(6).ToList();
        string[] names = ["precision", "recall", "hallucination", "echo", "absent echo", "faithful share"];
        Charts.GroupedBars(
            "Evidence faithfulness to the scene graph (overall)",
            "share",
            names,
            [
                ("caption model", measures.Select(m => Stats.Mean(seeds.Select(s => m.Pick(s.CaptionFaithfulness[Evaluation.Overall])))).ToArray(), measures.Select(m => Stats.Spread(seeds.Select(s => m.Pick(s.CaptionFaithfulness[Evaluation.Overall])))).ToArray()),
                ("VEPA model", measures.Select(m => Stats.Mean(seeds.Select(s => m.Pick(s.VepaFaithfulness[Evaluation.Overall])))).ToArray(), measures.Select(m => Stats.Spread(seeds.Select(s => m.Pick(s.VepaFaithfulness[Evaluation.Overall])))).ToArray()),
            ],
            Path.Combine(folder, "faithfulness.png"));
        Charts.GroupedBars(
            "Share of evidence that hallucinates (at least one false fact), per family",
            "hallucination rate",
            rows,
            [
                ("caption model", rows.Select(r => Stats.Mean(seeds.Select(s => s.CaptionFaithfulness[r].HallucinationRate))).ToArray(), rows.Select(r => Stats.Spread(seeds.Select(s => s.CaptionFaithfulness[r].HallucinationRate))).ToArray()),
                ("VEPA model", rows.Select(r => Stats.Mean(seeds.Select(s => s.VepaFaithfulness[r].HallucinationRate))).ToArray(), rows.Select(r => Stats.Spread(seeds.Select(s => s.VepaFaithfulness[r].HallucinationRate))).ToArray()),
            ],
            Path.Combine(folder, "faithfulness-by-family.png"));
        foreach (var kind in Enum.GetValues<CorruptionKind>())
        {
            if (seeds.Any(s => s.SftRetention is null || s.VepaSftRetention is null))
            {
                break;
            }

            string key = kind.ToString();
            Charts.Retention(
                $"Table 3 analogue: accuracy retention under {(kind == CorruptionKind.GaussianNoise ? "Gaussian noise" : "masked patches")}",
                Corruption.Levels(kind).Select(l => Corruption.LevelName(kind, l)).ToArray(),
                [
                    ("SFT", MeanCurve(seeds.Select(s => s.SftRetention![key]))),
                    ("VEPA+SFT", MeanCurve(seeds.Select(s => s.VepaSftRetention![key]))),
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
        md.AppendLine(Inv($"{seeds.Count} seed(s) ({string.Join(", ", seeds.Select(s => s.Seed))}); wall time {run.WallSeconds / 60:0.0} min (this invocation{(o.Resume ? ", resumed: finished stages were loaded" : string.Empty)}) on {run.Machine}; process CPU time {run.CpuSeconds / 60:0.0} min (one intra-op thread: about the wall time of an unloaded machine); load average {run.LoadAverage}. Values are mean ± sample standard deviation over seeds; Δ columns are paired per-seed differences with their 95 % Student-t interval over seeds, mean ± t(0.975; n − 1)·sd/√n, in brackets. The run is bit-identical on the same machine and build; other CPUs (another vector width changes float sums) give other numbers."));
        md.AppendLine();
        md.AppendLine(Inv($"Configuration: {(o.Quick ? "--quick, " : string.Empty)}caption pretraining {o.CaptionSteps} steps (caption loss {run.CaptionLoss:0.000}), VEPA {o.VepaSteps} steps × {o.PromptsPerStep} prompts × G = {o.GroupSize}, β = {o.Beta}, reward {TrainingReward.Describe(o.Reward)}, SFT {o.SftSteps} steps on {o.SftExamples} QA items, model d = {o.ModelDim}, {o.Layers} layers, caption model {(o.CaptionPerSeed ? "pretrained per seed" : o.CaptionFrom is { } f ? "loaded from " + f : "shared by all seeds")}. Held-out: {run.HeldOutItems} questions, {run.DemandingItems} visually demanding (the question-only prior reader gets them wrong; `VisualDependencyFilter`). VEPA trained against: {run.TrainingReader}."));
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
        AppendTable(md, ["family", "SFT", "VEPA+SFT", "Δ (VEPA+SFT − SFT) [95% CI]", "verdict"], Table1(seeds));
        md.AppendLine("![Table 1](table1-accuracy.png)");
        md.AppendLine();
        md.AppendLine("## Table 2 analogue: evidence sufficiency");
        md.AppendLine();
        md.AppendLine("Blind-reader accuracy (mean s) from greedy evidence on the visually demanding held-out questions; cheat rate = share of evidence the reader flags as stating an answer without the scene; length in words. The strict reader was never trained against: it reads only evidence whose every segment is exactly one fact.");
        md.AppendLine();
        AppendTable(md, ["reader", "evidence from", "reader accuracy", "Δ vs caption [95% CI]", "cheat rate", "mean length"], Table2(seeds));
        md.AppendLine("![Table 2](table2-evidence.png)");
        md.AppendLine();
        md.AppendLine("## Evidence faithfulness: what the blind reader cannot see");
        md.AppendLine();
        md.AppendLine("Every fact the evidence states (parsed as the readers parse it) checked against the scene graph. Precision = true facts / stated facts; recall = the question-relevant facts (the asked attribute at the cell, the asked count, the queried object or its absence, both objects' cells, both counts) stated truly; hallucination = evidence with at least one false fact; echo = evidence asserting the queried object, attribute or cell with something the scene does not have there; absent-object echo = on existence questions whose object is absent, evidence asserting it. The reader's accuracy (training reader) is split by whether the evidence is faithful (facts, all true); \"correct answers not supported\" = right answers whose relevant facts the evidence does not all state truly: answers drawn from false or missing evidence.");
        md.AppendLine();
        AppendTable(md, ["measure", "caption model", "VEPA model", "Δ (VEPA − caption) [95% CI]"], FaithfulnessTable(seeds));
        if (seeds.All(s => s.CaptionFaithfulnessAll is not null && s.VepaFaithfulnessAll is not null))
        {
            md.AppendLine(Inv($"The visually demanding split keeps only the questions the question-only prior gets wrong, so for a yes/no question type it keeps one answer: {AnswerBalance(run.DemandingBalance)}. The same measures on all {run.HeldOutItems} held-out questions (the prior-guessable ones included, so absent objects are asked about):"));
            md.AppendLine();
            AppendTable(md, ["measure", "caption model", "VEPA model", "Δ (VEPA − caption) [95% CI]"], FaithfulnessTable(seeds, all: true));
        }

        md.AppendLine("Per family (means over seeds, caption model → VEPA model):");
        md.AppendLine();
        AppendTable(md, FaithfulnessByFamilyHeader, FaithfulnessByFamily(seeds));
        md.AppendLine("![faithfulness](faithfulness.png)");
        md.AppendLine();
        md.AppendLine("![faithfulness by family](faithfulness-by-family.png)");
        md.AppendLine();
        md.AppendLine("## Table 3 analogue: visual reliance");
        md.AppendLine();
        md.AppendLine("Accuracy under corruption divided by clean accuracy (held-out visually demanding questions); AUC = mean of the trapezoids over the levels, 1 = no loss. A lower curve means the model relies more on the image.");
        md.AppendLine();
        var table3 = Table3(seeds);
        if (table3.Count == 0)
        {
            md.AppendLine("Skipped (--no-table3).");
            md.AppendLine();
        }
        else
        {
            foreach (var kind in Enum.GetValues<CorruptionKind>())
            {
                AppendTable(md, Table3Header(kind), table3.Where(r => r[0] == kind.ToString()).ToList());
                md.AppendLine(Inv($"![Table 3 {kind}](table3-{(kind == CorruptionKind.GaussianNoise ? "noise" : "mask")}.png)"));
                md.AppendLine();
            }

            md.AppendLine("### Table 3 investigation");
            md.AppendLine();
            md.AppendLine("Per family: clean accuracy, accuracy with all 9 patches masked (what the model answers from the question alone), and the retention AUC of each family. A family mix that differs between the two models changes the overall retention even where no family's does.");
            md.AppendLine();
            foreach (var kind in Enum.GetValues<CorruptionKind>())
            {
                md.AppendLine(Inv($"{kind}:"));
                md.AppendLine();
                AppendTable(md, RetentionByFamilyHeader, RetentionByFamily(seeds, kind));
            }

            md.AppendLine("The evidence itself under the same corruptions: the training reader's accuracy from the greedy evidence of the caption model and of the VEPA model.");
            md.AppendLine();
            var evidenceRows = EvidenceUnderCorruption(seeds);
            foreach (var kind in Enum.GetValues<CorruptionKind>())
            {
                AppendTable(md, EvidenceUnderCorruptionHeader(kind), evidenceRows.Where(r => r[0] == kind.ToString()).ToList());
            }
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
