using ScottPlot;
using SkiaSharp;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Report;

/// <summary>The report's PNG charts (ScottPlot) and rendered scenes (SkiaSharp).</summary>
internal static class Charts
{
    private const string FontName = "SceneVepaSans";

    // SkiaSharp's dependency-free native build has no fontconfig, so ScottPlot finds no system font and draws no text;
    // register a TrueType file explicitly.
    private static readonly string? FontFile = RegisterFont();

    private static readonly Color SftColour = new(0x88, 0x99, 0xAA);
    private static readonly Color VepaColour = new(0xD6, 0x5F, 0x1F);

    /// <summary>VEPA reward and evidence length over steps, one line per seed.</summary>
    public static void VepaCurves(IReadOnlyList<SeedResult> seeds, string path)
    {
        var plot = NewPlot();
        var lengthAxis = plot.Axes.Right;
        foreach (var seed in seeds)
        {
            double[] steps = seed.VepaCurve.Select(p => (double)p.Step).ToArray();
            var reward = plot.Add.Scatter(steps, Smooth(seed.VepaCurve.Select(p => p.MeanReward).ToArray()));
            reward.LegendText = $"mean reward, seed {seed.Seed}";
            reward.MarkerSize = 0;
            reward.Color = VepaColour.WithAlpha(0.5 + (0.5 / seeds.Count * (seeds.Count - seed.Seed)));
            var length = plot.Add.Scatter(steps, Smooth(seed.VepaCurve.Select(p => p.MeanLength).ToArray()));
            length.LegendText = $"evidence length, seed {seed.Seed}";
            length.MarkerSize = 0;
            length.LinePattern = LinePattern.Dashed;
            length.Color = SftColour;
            length.Axes.YAxis = lengthAxis;
        }

        plot.Title("VEPA stage: mean sufficiency reward (left) and evidence length (right)");
        plot.XLabel("GRPO step");
        plot.YLabel("mean reward R = s·h·γ");
        lengthAxis.Label.Text = "evidence length (tokens, with <eos>)";
        plot.Axes.SetLimitsY(0, 1);
        plot.ShowLegend(Alignment.LowerRight);
        plot.SavePng(path, 900, 500);
    }

    /// <summary>Grouped bars with seed spread as error bars.</summary>
    public static void GroupedBars(string title, string yLabel, IReadOnlyList<string> groups, IReadOnlyList<(string Name, double[] Means, double[] Spreads)> series, string path)
    {
        var plot = NewPlot();
        Color[] colours = [SftColour, VepaColour, new(0x3B, 0x7D, 0xD8), new(0x4C, 0xA6, 0x4C)];
        int n = series.Count;
        for (int s = 0; s < n; s++)
        {
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                bars.Add(new Bar
                {
                    Position = (g * (n + 1)) + s,
                    Value = double.IsFinite(series[s].Means[g]) ? series[s].Means[g] : 0,
                    Error = series[s].Spreads[g],
                    FillColor = colours[s % colours.Length],
                });
            }

            plot.Add.Bars(bars);
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = series[s].Name, FillColor = colours[s % colours.Length] });
        }

        plot.Axes.Bottom.SetTicks(
            Enumerable.Range(0, groups.Count).Select(g => (g * (n + 1)) + ((n - 1) / 2.0)).ToArray(),
            groups.ToArray());
        plot.Title(title);
        plot.YLabel(yLabel);
        plot.Axes.SetLimitsY(0, 1.05);
        plot.ShowLegend(Alignment.UpperRight);
        plot.SavePng(path, 900, 500);
    }

    /// <summary>Retention curves (mean over seeds) for both models.</summary>
    public static void Retention(string title, string[] levelNames, IReadOnlyList<(string Name, double[] Means)> series, string path)
    {
        var plot = NewPlot();
        Color[] colours = [SftColour, VepaColour];
        double[] xs = Enumerable.Range(0, levelNames.Length).Select(i => (double)i).ToArray();
        for (int s = 0; s < series.Count; s++)
        {
            var line = plot.Add.Scatter(xs, series[s].Means);
            line.LegendText = series[s].Name;
            line.Color = colours[s % colours.Length];
            line.LineWidth = 2;
        }

        plot.Axes.Bottom.SetTicks(xs, levelNames);
        plot.Title(title);
        plot.YLabel("accuracy retention (corrupted / clean)");
        plot.Axes.SetLimitsY(0, 1.1);
        plot.ShowLegend(Alignment.LowerLeft);
        plot.SavePng(path, 900, 500);
    }

    /// <summary>Writes the scene as an 8× enlarged PNG.</summary>
    public static void SceneImage(Scene scene, string path)
    {
        const int scale = 8;
        float[] pixels = scene.Render();
        int size = Scene.ImageSize;
        const int plane = Scene.ImageSize * Scene.ImageSize;
        using var bitmap = new SKBitmap(size * scale, size * scale);
        for (int y = 0; y < size * scale; y++)
        {
            for (int x = 0; x < size * scale; x++)
            {
                int p = ((y / scale) * size) + (x / scale);
                bitmap.SetPixel(x, y, new SKColor(ToByte(pixels[p]), ToByte(pixels[plane + p]), ToByte(pixels[(2 * plane) + p])));
            }
        }

        using var image = SKImage.FromBitmap(bitmap);
        using var data = image.Encode(SKEncodedImageFormat.Png, 100);
        using var file = File.Create(path);
        data.SaveTo(file);
    }

    /// <summary>Gets the font file the charts use, or <see langword="null"/> when none was found (the charts then have no text).</summary>
    public static string? Font => FontFile;

    private static Plot NewPlot()
    {
        var plot = new Plot();
        if (FontFile is not null)
        {
            plot.Font.Set(FontName);
        }

        return plot;
    }

    private static string? RegisterFont()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string[] folders =
        [
            "/usr/share/fonts", "/usr/local/share/fonts", Path.Combine(home, ".local/share/fonts"), Path.Combine(home, ".fonts"),
            "/Library/Fonts", "/System/Library/Fonts/Supplemental", Environment.GetFolderPath(Environment.SpecialFolder.Fonts),
        ];
        string[] preferred = ["DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf", "FreeSans.ttf", "Arial.ttf", "arial.ttf", "segoeui.ttf"];
        var files = folders.Where(f => !string.IsNullOrEmpty(f) && Directory.Exists(f))
            .SelectMany(f =>
            {
                try
                {
                    return Directory.EnumerateFiles(f, "*.ttf", SearchOption.AllDirectories).ToList();
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    return [];
                }
            })
            .ToList();
        string? file = preferred.Select(name => files.FirstOrDefault(f => Path.GetFileName(f).Equals(name, StringComparison.OrdinalIgnoreCase))).FirstOrDefault(f => f is not null)
            ?? files.FirstOrDefault();
        if (file is not null)
        {
            Fonts.AddFontFile(FontName, file);
        }

        return file;
    }

    private static byte ToByte(float v) => (byte)Math.Clamp((int)Math.Round(v * 255), 0, 255);

    private static double[] Smooth(double[] values)
    {
        int window = Math.Max(1, values.Length / 20);
        return values.Select((_, i) =>
        {
            int from = Math.Max(0, i - window + 1);
            return values[from..(i + 1)].Average();
        }).ToArray();
    }
}
