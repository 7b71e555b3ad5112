using Spectre.Console;
using Vepa.Samples.SceneVepa.Stages;

namespace Vepa.Samples.SceneVepa.Report;

/// <summary>The closing tables on the console (the same rows as report.md).</summary>
internal static class ConsoleReport
{
    public static void Print(IAnsiConsole console, RunResult run)
    {
        var seeds = run.Seeds;
        console.Write(new Rule("[bold]Results[/]").LeftJustified());
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"{seeds.Count} seed(s), wall time {run.WallSeconds / 60:0.0} min (CPU {run.CpuSeconds / 60:0.0} min, load {run.LoadAverage}) on {run.Machine}; mean ± spread over seeds, Δ = paired difference [[95% t interval over seeds]].");
        console.MarkupLineInterpolated(CultureInfo.InvariantCulture, $"VEPA stage mean reward: first tenth {Stats.Format(seeds.Select(s => s.RewardStart))} → last tenth {Stats.Format(seeds.Select(s => s.RewardEnd))}");
        Print(console, $"Table 1 analogue: accuracy on {run.DemandingItems} held-out visually demanding questions", ["family", "SFT", "VEPA+SFT", "Δ [95% CI]", "verdict"], ReportWriter.Table1(seeds));
        Print(console, "Table 2 analogue: blind-reader accuracy from the model's evidence", ["reader", "evidence from", "accuracy", "Δ vs caption [95% CI]", "cheat rate", "length"], ReportWriter.Table2(seeds));
        Print(console, "Evidence faithfulness to the scene graph (overall)", ["measure", "caption model", "VEPA model", "Δ [95% CI]"], ReportWriter.FaithfulnessTable(seeds));
        var table3 = ReportWriter.Table3(seeds);
        foreach (var kind in Enum.GetValues<CorruptionKind>().Where(_ => table3.Count > 0))
        {
            Print(console, $"Table 3 analogue: accuracy retention under {kind}", ReportWriter.Table3Header(kind), table3.Where(r => r[0] == kind.ToString()).ToList());
        }
    }

    private static void Print(IAnsiConsole console, string title, IReadOnlyList<string> header, IReadOnlyList<string[]> rows)
    {
        var table = new Table().Title(Markup.Escape(title)).Border(TableBorder.Rounded);
        foreach (string h in header)
        {
            table.AddColumn(new TableColumn(Markup.Escape(h)));
        }

        foreach (var row in rows)
        {
            table.AddRow(row.Select(Markup.Escape).ToArray());
        }

        console.Write(table);
    }
}
