namespace Vepa.Grpo;

/// <summary>How the learning rate changes over the training steps after the linear warm-up.</summary>
public enum LearningRateSchedule
{
    /// <summary>Constant at the peak learning rate (VEPA; TRL/Transformers <c>constant_with_warmup</c>). The default.</summary>
    Constant,

    /// <summary>Linear decay from the peak to <see cref="GrpoTrainerOptions.MinLearningRateRatio"/> × peak at <see cref="GrpoTrainerOptions.MaxSteps"/> (Transformers <c>linear</c>).</summary>
    Linear,

    /// <summary>Half-cosine decay from the peak to <see cref="GrpoTrainerOptions.MinLearningRateRatio"/> × peak at <see cref="GrpoTrainerOptions.MaxSteps"/> (Transformers <c>cosine</c>, <c>cosine_with_min_lr</c>).</summary>
    Cosine,
}
