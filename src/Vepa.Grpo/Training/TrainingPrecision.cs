namespace Vepa.Grpo;

/// <summary>The precision a <see cref="GrpoTrainer"/> trains the policy in (<see cref="GrpoTrainerOptions.Precision"/>).</summary>
public enum TrainingPrecision
{
    /// <summary>The parameters are trained in their own dtype (float32, or float64 in tests): the optimizer steps them directly.</summary>
    Float32,

    /// <summary>
    /// Mixed precision: the policy's parameters (and so its activations) are bfloat16, the optimizer keeps float32 master
    /// weights and steps those (its state is float32 too), and the masters are copied back to the parameters rounded to the
    /// nearest even bfloat16. The policy must hand over bfloat16 trainable parameters (load it in bfloat16). Log-probs and
    /// the loss are float32. No loss scaling: bfloat16 has float32's exponent range.
    /// </summary>
    BFloat16,
}
