using System.Diagnostics.Metrics;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A trainer constructor that fails on a check after it has allocated (the sampling copy, the reference, the optimizer, the
/// metrics) releases all of it: a trainer that was never built owns no tensors and no meter.
/// </summary>
[Collection("Sequential")]
public sealed class TrainerConstructorReleaseTests
{
    [Fact]
    public void A_step_log_that_cannot_be_opened_leaves_no_live_tensor_and_no_meter_behind()
    {
        using var threads = new SingleThreadedTorch();
        using var folder = new TempFolder();
        string file = Path.Combine(folder.Path, "not-a-folder");
        File.WriteAllText(file, "a file where the step log's folder would be");
        using var policy = TrainerCheckpointFolderTests.NewPolicy(3);
        using var reward = TrainerCheckpointFolderTests.Reward();
        var options = TrainerCheckpointFolderTests.Options(null);

        // β = 0 and no overlap: no reference or sampling copy, so what the constructor allocates before the step log is the
        // optimizer's state (AdamW's two moments per parameter, made eagerly) and the metrics' meter.
        options.Loss.Beta = 0;
        options.StepLogPath = Path.Combine(file, "steps.jsonl");

        using var meters = new MeterWatch("Vepa.Grpo");
        Collect();
        long before = Tensor.TotalCount;

        var act = () => new GrpoTrainer(policy, reward, options);

        act.Should().Throw<IOException>("the step log's folder is a file");
        Tensor.TotalCount.Should().Be(before, "the optimizer state made before the failing check is disposed, not left to the GC");
        meters.Published.Should().BeGreaterThan(0, "the constructor created its metrics before the failing check");
        meters.Live.Should().Be(0, "the trainer's own meter is disposed");
    }

    private static void Collect()
    {
        for (int i = 0; i < 3; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
        }
    }

    /// <summary>Counts the instruments of meters with one name published while it listens, and those of them still live (not disposed).</summary>
    private sealed class MeterWatch : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly HashSet<Instrument> _live = [];
        private readonly object _gate = new();
        private bool _started;

        public MeterWatch(string meterName)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (_started && instrument.Meter.Name == meterName)
                {
                    lock (_gate)
                    {
                        _live.Add(instrument);
                        Published++;
                    }

                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.MeasurementsCompleted = (instrument, _) =>
            {
                lock (_gate)
                {
                    _live.Remove(instrument);
                }
            };
            _listener.Start();

            // Instruments that existed before (other tests' meters) were announced by Start; only new ones count.
            _started = true;
        }

        public int Published { get; private set; }

        public int Live
        {
            get
            {
                lock (_gate)
                {
                    return _live.Count;
                }
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
