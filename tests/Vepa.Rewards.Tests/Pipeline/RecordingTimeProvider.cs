using System.Threading.Channels;
using Microsoft.Extensions.Time.Testing;

namespace Vepa.Rewards.Tests.Pipeline;

/// <summary>A <see cref="FakeTimeProvider"/> that reports the due time of every timer created, once the timer is registered.</summary>
/// <remarks>Lets a test wait until a stage has started waiting (a backoff delay, a timeout) before it advances the clock.</remarks>
public sealed class RecordingTimeProvider : FakeTimeProvider
{
    private readonly Channel<TimeSpan> _dueTimes = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ITimer timer = base.CreateTimer(callback, state, dueTime, period);
        _dueTimes.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>Waits (up to 10 s of real time) for the next timer to be created and returns its due time.</summary>
    public async Task<TimeSpan> NextTimerAsync() =>
        await _dueTimes.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Returns whether a timer was created that no <see cref="NextTimerAsync"/> has taken yet.</summary>
    public bool HasPendingTimer => _dueTimes.Reader.Count > 0;
}
