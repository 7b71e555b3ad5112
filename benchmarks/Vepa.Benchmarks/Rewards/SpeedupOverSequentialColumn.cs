using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Vepa.Benchmarks.Rewards;

/// <summary>
/// The baseline comparison across <c>Concurrency</c> values: the mean of the same benchmark, job and other parameters at
/// Concurrency = 1, divided by this case's mean. Ideal scaling gives the concurrency itself.
/// </summary>
public sealed class SpeedupOverSequentialColumn : IColumn
{
    private const string ConcurrencyParameter = "Concurrency";

    /// <inheritdoc />
    public string Id => nameof(SpeedupOverSequentialColumn);

    /// <inheritdoc />
    public string ColumnName => "Speed-up vs 1";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public int PriorityInCategory => 1;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => "Mean at Concurrency = 1 divided by this mean (the baseline is Concurrency = 1; ideal = Concurrency)";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        ArgumentNullException.ThrowIfNull(summary);
        ArgumentNullException.ThrowIfNull(benchmarkCase);
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        BenchmarkCase? baseline = summary.BenchmarksCases.FirstOrDefault(candidate => IsSequentialTwin(candidate, benchmarkCase));
        double? baselineMean = baseline is null ? null : summary[baseline]?.ResultStatistics?.Mean;
        if (mean is not > 0 || baselineMean is not > 0)
        {
            return "NA";
        }

        return (baselineMean.Value / mean.Value).ToString("0.00", CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static bool IsSequentialTwin(BenchmarkCase candidate, BenchmarkCase benchmarkCase)
    {
        if (!Equals(candidate.Descriptor, benchmarkCase.Descriptor)
            || candidate.Job.DisplayInfo != benchmarkCase.Job.DisplayInfo
            || candidate.Parameters[ConcurrencyParameter] is not 1)
        {
            return false;
        }

        return benchmarkCase.Parameters.Items
            .Where(p => p.Name != ConcurrencyParameter)
            .All(p => Equals(candidate.Parameters[p.Name], p.Value));
    }
}
