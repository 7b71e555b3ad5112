using TorchSharp;

namespace Vepa.Grpo;

/// <summary>What a checkpoint captures (live tensors; the writer copies them to the CPU).</summary>
internal sealed record GrpoCheckpointState(
    int Step,
    IReadOnlyDictionary<string, torch.Tensor> Policy,
    IReadOnlyDictionary<string, torch.Tensor>? Reference,
    long[] OptimizerSteps,
    torch.Tensor[] ExpAvg,
    torch.Tensor[] ExpAvgSq,
    torch.Tensor RngState,
    long? StepLogLength,
    GrpoTrainerOptions Options);
