using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Vepa.Rewards.Tests.Pipeline;

/// <summary>A <see cref="FakeTimeProvider"/> that reports the due time of every timer armed (created with a due time, or changed to one).</summary>
/// <remarks>Lets a test wait until a stage has started waiting (a backoff delay, a timeout) before it advances the clock. A timer created
/// disarmed and armed later (as Polly's timeout does through <c>CancelAfter</c>) is reported when it is armed.</remarks>
public sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _dueTimes = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        Record(dueTime);
        return new RecordingTimer(timer, this);
    }

    /// <summary>Waits (up to 10 s of real time) for the next timer to be armed and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync() =>
        await _dueTimes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Returns whether a timer was armed that no <see cref="NextTimerAsync"/> has taken yet.</summary>
    public bool HasPendingTimer => _dueTimes.Reader.Count > 0;

    private void Record(TimeSpan dueTime)
    {
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            _dueTimes.Writer.TryWrite(dueTime);
        }
    }

    private sealed class RecordingTimer(ITimer inner, RecordingTimeProvider owner) : ITimer
    {
        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            bool changed = inner.Change(dueTime, period);
            owner.Record(dueTime);
            return changed;
        }

        public void Dispose() => inner.Dispose();

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
