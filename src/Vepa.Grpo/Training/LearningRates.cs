namespace Vepa.Grpo;

/// <summary>The learning rate of a step: linear warm-up, then constant, linear or cosine decay.</summary>
internal static class LearningRates
{
    /// <summary>Gets the number of warm-up steps.</summary>
    public static int WarmupSteps(GrpoTrainerOptions options)
        => options.WarmupSteps ?? (int)Math.Ceiling(options.WarmupRatio * options.MaxSteps);

    /// <summary>Gets the learning rate of 1-based step <paramref name="step"/>.</summary>
    /// <remarks>Warm-up: peak × s / W for s ≤ W (the first step already moves). After it, decay over the remaining steps to MaxSteps; beyond MaxSteps the final rate holds.</remarks>
    public static double At(GrpoTrainerOptions options, int step)
    {
        double peak = options.LearningRate;
        int warmup = WarmupSteps(options);
        if (step <= warmup)
        {
            return peak * step / warmup;
        }

        if (options.Schedule == LearningRateSchedule.Constant)
        {
            return peak;
        }

        int decaySteps = Math.Max(1, options.MaxSteps - warmup);
        double progress = Math.Min(1.0, (double)(step - warmup) / decaySteps);
        double floor = options.MinLearningRateRatio;
        double factor = options.Schedule == LearningRateSchedule.Linear
            ? 1.0 - progress
            : 0.5 * (1.0 + Math.Cos(Math.PI * progress));
        return peak * (floor + ((1.0 - floor) * factor));
    }
}
