using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Vepa.Rewards;

/// <summary>The instruments of the <see cref="RewardMetricNames.MeterName"/> meter, shared by the metrics and retry stages.</summary>
/// <remarks>Thread-safe. Created from an <see cref="IMeterFactory"/> when one is available, else on a process-wide static meter.</remarks>
internal sealed class RewardMetrics
{
    private static readonly double[] DurationBuckets = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120];

    private static readonly Lazy<RewardMetrics> SharedInstance = new(
        () => new RewardMetrics(new Meter(RewardMetricNames.MeterName)), LazyThreadSafetyMode.ExecutionAndPublication);

    private RewardMetrics(Meter meter)
    {
        Items = meter.CreateCounter<long>(RewardMetricNames.Items, "{item}", "Items scored (every result returned, scored or failed).");
        Failures = meter.CreateCounter<long>(RewardMetricNames.Failures, "{item}", "Items whose reward could not be computed.");
        Retries = meter.CreateCounter<long>(RewardMetricNames.Retries, "{item}", "Failed items sent to the inner model again.");
        Penalties = meter.CreateCounter<long>(RewardMetricNames.Penalties, "{item}", "Items scored as a penalty because the evidence made the reader fail.");
        Cheats = meter.CreateCounter<long>(RewardMetricNames.Cheats, "{item}", "Scored items whose evidence was judged to cheat (h = 0).");
        CallDuration = meter.CreateHistogram(
            RewardMetricNames.CallDuration,
            "s",
            "Duration of each inner reward model call.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
    }

    /// <summary>Gets the instruments on the process-wide static meter, used when no <see cref="IMeterFactory"/> is available.</summary>
    public static RewardMetrics Shared => SharedInstance.Value;

    public Counter<long> Items { get; }

    public Counter<long> Failures { get; }

    public Counter<long> Retries { get; }

    public Counter<long> Cheats { get; }

    public Counter<long> Penalties { get; }

    public Histogram<double> CallDuration { get; }

    /// <summary>Gets instruments on the meter <paramref name="meterFactory"/> owns, or <see cref="Shared"/> when it is <see langword="null"/>.</summary>
    public static RewardMetrics Create(IMeterFactory? meterFactory) =>
        meterFactory is null ? Shared : new RewardMetrics(meterFactory.Create(new MeterOptions(RewardMetricNames.MeterName)));

    /// <summary>Records the outcome of one call: items, failures (by transience and kind), penalties and cheats.</summary>
    public void RecordResults(IReadOnlyList<RewardResult> results, in TagList baseTags)
    {
        long scored = 0;
        long failed = 0;
        long cheats = 0;
        Dictionary<(bool Transient, RewardFailureKind Kind), long>? failures = null;
        Dictionary<RewardFailureKind, long>? penalties = null;
        for (int i = 0; i < results.Count; i++)
        {
            RewardResult result = results[i];
            if (result.IsScored)
            {
                scored++;
                if (result.PenaltyCause is { } cause)
                {
                    penalties ??= [];
                    penalties[cause.Kind] = penalties.GetValueOrDefault(cause.Kind) + 1;
                }
                else if (result.Components.TryGetValue(RewardComponentNames.Honesty, out double honesty) && honesty == 0)
                {
                    cheats++;
                }
            }
            else
            {
                failed++;
                RewardFailure? failure = result.Failure;
                var key = (failure?.IsTransient ?? false, failure?.Kind ?? RewardFailureKind.Infrastructure);
                failures ??= [];
                failures[key] = failures.GetValueOrDefault(key) + 1;
            }
        }

        Add(Items, scored, baseTags, RewardMetricNames.StatusTag, "scored");
        Add(Items, failed, baseTags, RewardMetricNames.StatusTag, "failed");
        if (failures is not null)
        {
            foreach (var ((transient, kind), count) in failures)
            {
                TagList tags = baseTags;
                tags.Add(RewardMetricNames.TransientTag, transient);
                tags.Add(RewardMetricNames.FailureKindTag, KindTag(kind));
                Failures.Add(count, tags);
            }
        }

        if (penalties is not null)
        {
            foreach (var (kind, count) in penalties)
            {
                Add(Penalties, count, baseTags, RewardMetricNames.FailureKindTag, KindTag(kind));
            }
        }

        if (cheats > 0)
        {
            Cheats.Add(cheats, baseTags);
        }
    }

    private static string KindTag(RewardFailureKind kind) => kind switch
    {
        RewardFailureKind.Evidence => "evidence",
        RewardFailureKind.Configuration => "configuration",
        _ => "infrastructure",
    };

    private static void Add(Counter<long> counter, long value, in TagList baseTags, string tagKey, object tagValue)
    {
        if (value > 0)
        {
            TagList tags = baseTags;
            tags.Add(tagKey, tagValue);
            counter.Add(value, tags);
        }
    }
}
