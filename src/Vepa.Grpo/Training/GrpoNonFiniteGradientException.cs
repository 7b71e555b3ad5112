namespace Vepa.Grpo;

/// <summary>
/// Training stopped because <see cref="GrpoTrainerOptions.MaxConsecutiveNonFiniteGradientSteps"/> steps in a row skipped every optimizer
/// update: the gradient norm was NaN or infinite each time, so the run could not learn (a diverged policy, a loss that overflows in
/// bfloat16, a reward scale that breaks the advantages).
/// </summary>
/// <remarks>Thrown by <c>GrpoTrainer.TrainAsync</c> after it wrote a checkpoint (when a checkpoint folder is set). The skipped updates
/// did not change the weights.</remarks>
public sealed class GrpoNonFiniteGradientException : Exception
{
    /// <summary>Initializes a new instance of the <see cref="GrpoNonFiniteGradientException"/> class.</summary>
    public GrpoNonFiniteGradientException()
        : base("GRPO training stopped: every optimizer update was skipped because the gradient norm was not finite.")
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoNonFiniteGradientException"/> class.</summary>
    /// <param name="message">The message.</param>
    public GrpoNonFiniteGradientException(string message)
        : base(message)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoNonFiniteGradientException"/> class.</summary>
    /// <param name="message">The message.</param>
    /// <param name="innerException">The underlying exception.</param>
    public GrpoNonFiniteGradientException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Initializes a new instance of the <see cref="GrpoNonFiniteGradientException"/> class.</summary>
    /// <param name="step">The last step (1-based) whose updates were all skipped.</param>
    /// <param name="consecutiveSteps">How many steps in a row skipped all their updates.</param>
    public GrpoNonFiniteGradientException(int step, int consecutiveSteps)
        : base($"GRPO training stopped at step {step}: {consecutiveSteps} steps in a row skipped every optimizer update because the gradient norm was NaN or infinite. The weights are those before the first of them; lower the learning rate, check the reward scale, or train in float32.")
    {
        Step = step;
        ConsecutiveSteps = consecutiveSteps;
    }

    /// <summary>Gets the last step whose updates were all skipped.</summary>
    public int Step { get; }

    /// <summary>Gets how many steps in a row skipped all their updates.</summary>
    public int ConsecutiveSteps { get; }
}
