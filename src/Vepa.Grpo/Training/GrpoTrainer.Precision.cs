namespace Vepa.Grpo;

/// <summary>The trainer's mixed precision (<see cref="GrpoTrainerOptions.Precision"/>, <see cref="GrpoTrainerOptions.LmHeadFloat32"/>).</summary>
public sealed partial class GrpoTrainer
{
    /// <summary>Gets the float32 master weights of a <see cref="TrainingPrecision.BFloat16"/> run (in the order of the policy's trainable parameters), or <see langword="null"/>.</summary>
    internal IReadOnlyList<TorchSharp.Modules.Parameter>? MasterWeights => _optimizer.Masters?.Masters;

    /// <summary>Sets a <see cref="TorchPolicy"/>'s LM head to float32 when <see cref="GrpoTrainerOptions.LmHeadFloat32"/> is set.</summary>
    private static void ConfigureHeadPrecision(IPolicy policy, GrpoTrainerOptions options)
    {
        if (!options.LmHeadFloat32)
        {
            return;
        }

        var torchPolicy = policy.GetService(typeof(TorchPolicy)) as TorchPolicy ?? throw new ArgumentException(
            $"LmHeadFloat32 needs a TorchPolicy (the trainer sets the precision of its LM head); {policy.GetType().Name} computes its own logits, so set their precision there and leave LmHeadFloat32 false.",
            nameof(options));
        torchPolicy.HeadInFloat32 = true;
    }

    /// <summary>Restores the float32 masters from a checkpoint; one written without masters gives them the restored parameters' values.</summary>
    private void RestoreMasters(GrpoCheckpoint checkpoint)
    {
        if (_optimizer.Masters is { } masters)
        {
            masters.Load(checkpoint.Masters ?? _parameters);
        }
    }
}
