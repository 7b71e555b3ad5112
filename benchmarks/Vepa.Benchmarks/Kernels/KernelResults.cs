using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Vepa.Benchmarks.Kernels;

/// <summary>One row of the harness's results.</summary>
internal sealed record KernelResultRow(
    string Group,
    string Kernel,
    string Shape,
    string Dtype,
    string Device,
    double MeanNanoseconds,
    double StdDevNanoseconds,
    double? RatioToBaseline,
    double BytesPerSecond,
    double FlopsPerSecond,
    double? FractionOfStreamingBandwidth,
    long? PeakNativeBytes);

/// <summary>A run's results: the machine, the measured streaming bandwidth and the rows; exported as Markdown, JSON and CSV.</summary>
internal sealed record KernelResults(string Machine, double StreamingBytesPerSecond, IReadOnlyList<KernelResultRow> Rows)
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    public void Export(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "results.json"), JsonSerializer.Serialize(this, Json));
        File.WriteAllText(Path.Combine(directory, "results.md"), ToMarkdown());
        var csv = new StringBuilder("group,kernel,shape,dtype,device,mean_ns,stddev_ns,ratio,bytes_per_s,flops_per_s,fraction_of_streaming_bw,peak_native_bytes\n");
        foreach (var r in Rows)
        {
            csv.AppendLine(string.Join(',', r.Group, r.Kernel, r.Shape, r.Dtype, r.Device, F(r.MeanNanoseconds), F(r.StdDevNanoseconds),
                F(r.RatioToBaseline), F(r.BytesPerSecond), F(r.FlopsPerSecond), F(r.FractionOfStreamingBandwidth), r.PeakNativeBytes?.ToString(CultureInfo.InvariantCulture) ?? ""));
        }

        File.WriteAllText(Path.Combine(directory, "results.csv"), csv.ToString());
    }

    public string ToMarkdown()
    {
        var md = new StringBuilder();
        md.AppendLine(CultureInfo.InvariantCulture, $"Machine: {Machine}; measured streaming bandwidth (256 MiB copy): {StreamingBytesPerSecond / 1e9:F2} GB/s");
        md.AppendLine();
        md.AppendLine("| Group | Kernel | Shape | Dtype | Mean | StdDev | Ratio | Bytes/s | FLOP/s | Of streaming BW | Peak native |");
        md.AppendLine("|---|---|---|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in Rows)
        {
            md.AppendLine(CultureInfo.InvariantCulture,
                $"| {r.Group} | {r.Kernel} | {r.Shape} | {r.Dtype} | {Time(r.MeanNanoseconds)} | {Time(r.StdDevNanoseconds)} | {(r.RatioToBaseline is double q ? q.ToString("F2", CultureInfo.InvariantCulture) : "NA")} | {r.BytesPerSecond / 1e9:F2} GB/s | {r.FlopsPerSecond / 1e9:F2} GFLOP/s | {(r.FractionOfStreamingBandwidth is double f ? f.ToString("P0", CultureInfo.InvariantCulture) : "in cache (< 64 MB)")} | {(r.PeakNativeBytes is long p ? (p / 1048576.0).ToString("F1", CultureInfo.InvariantCulture) + " MiB" : "NA")} |");
        }

        return md.ToString();
    }

    /// <summary>Compares with a previous run: the cases (same group, kernel, shape, dtype, device) slower by more than the threshold.</summary>
    public IReadOnlyList<string> Regressions(KernelResults previous, double threshold)
    {
        var found = new List<string>();
        foreach (var r in Rows)
        {
            var old = previous.Rows.FirstOrDefault(p => p.Group == r.Group && p.Kernel == r.Kernel && p.Shape == r.Shape && p.Dtype == r.Dtype && p.Device == r.Device);
            if (old is not null && old.MeanNanoseconds > 0 && r.MeanNanoseconds > old.MeanNanoseconds * (1 + threshold))
            {
                found.Add(string.Create(CultureInfo.InvariantCulture,
                    $"{r.Group}/{r.Kernel}/{r.Shape}/{r.Dtype}: {Time(r.MeanNanoseconds)} vs {Time(old.MeanNanoseconds)} before ({(r.MeanNanoseconds / old.MeanNanoseconds) - 1:P1} slower, threshold {threshold:P0})"));
            }
        }

        return found;
    }

    public static KernelResults Load(string path)
        => JsonSerializer.Deserialize<KernelResults>(File.ReadAllText(path), Json)
            ?? throw new InvalidDataException($"'{path}' holds no kernel results.");

    private static string F(double? value) => value?.ToString("R", CultureInfo.InvariantCulture) ?? "";

    private static string Time(double ns) => ns switch
    {
        >= 1e9 => (ns / 1e9).ToString("F3", CultureInfo.InvariantCulture) + " s",
        >= 1e6 => (ns / 1e6).ToString("F3", CultureInfo.InvariantCulture) + " ms",
        _ => (ns / 1e3).ToString("F2", CultureInfo.InvariantCulture) + " µs",
    };
}
