namespace Vepa.Grpo;

/// <summary>What one position of the learning-rate schedule is.</summary>
public enum LearningRateScheduleUnit
{
    /// <summary>One GRPO step (verl's convention): every optimizer update of a step uses the same rate; <see cref="GrpoTrainerOptions.WarmupSteps"/> and the horizon <see cref="GrpoTrainerOptions.MaxSteps"/> count steps.</summary>
    Step,

    /// <summary>One optimizer update (TRL's convention): the rate advances with every update (μ passes × minibatches per step); <see cref="GrpoTrainerOptions.WarmupSteps"/> and the horizon <see cref="GrpoTrainerOptions.MaxScheduleUpdates"/> count updates.</summary>
    OptimizerUpdate,
}
