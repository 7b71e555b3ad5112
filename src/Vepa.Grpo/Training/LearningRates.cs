namespace Vepa.Grpo;

/// <summary>The learning rate at a schedule position: linear warm-up, then constant, linear or cosine decay; or the host's function.</summary>
/// <remarks>A position is a step or an optimizer update (<see cref="GrpoTrainerOptions.SchedulePer"/>); the horizon is
/// <see cref="GrpoTrainerOptions.MaxSteps"/> for steps and <see cref="GrpoTrainerOptions.MaxScheduleUpdates"/> for updates.</remarks>
internal static class LearningRates
{
    /// <summary>Gets the schedule's horizon in its own unit.</summary>
    public static long Horizon(GrpoTrainerOptions options)
        => options.SchedulePer == LearningRateScheduleUnit.Step ? options.MaxSteps : options.MaxScheduleUpdates ?? options.MaxSteps;

    /// <summary>Gets the number of warm-up positions.</summary>
    public static long WarmupSteps(GrpoTrainerOptions options)
        => options.WarmupSteps ?? (long)Math.Ceiling(options.WarmupRatio * Horizon(options));

    /// <summary>Gets the learning rate of 1-based position <paramref name="position"/>.</summary>
    /// <remarks>Warm-up: peak × s / W for s ≤ W (the first position already moves). After it, decay over the remaining positions to the horizon; beyond it the final rate holds.</remarks>
    public static double At(GrpoTrainerOptions options, long position)
    {
        if (options.LearningRateFunction is { } custom)
        {
            double rate = custom(position);
            return double.IsFinite(rate) && rate >= 0
                ? rate
                : throw new InvalidOperationException($"GrpoTrainerOptions.LearningRateFunction returned {rate} at position {position}; a learning rate must be finite and >= 0.");
        }

        double peak = options.LearningRate;
        long warmup = WarmupSteps(options);
        if (position <= warmup)
        {
            return peak * position / warmup;
        }

        if (options.Schedule == LearningRateSchedule.Constant)
        {
            return peak;
        }

        long decaySteps = Math.Max(1, Horizon(options) - warmup);
        double progress = Math.Min(1.0, (double)(position - warmup) / decaySteps);
        double floor = options.MinLearningRateRatio;
        double factor = options.Schedule == LearningRateSchedule.Linear
            ? 1.0 - progress
            : 0.5 * (1.0 + Math.Cos(Math.PI * progress));
        return peak * (floor + ((1.0 - floor) * factor));
    }
}
