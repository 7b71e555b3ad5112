using TorchSharp;

namespace Vepa.Grpo;

/// <summary>What a checkpoint captures (live tensors; the writer copies them to the CPU).</summary>
/// <remarks>The built-in AdamW is saved from <c>OptimizerSteps</c>, <c>ExpAvg</c> and <c>ExpAvgSq</c>; a host optimizer (empty
/// arrays) through <c>SaveOptimizer</c>, which writes its state to the path it is given.</remarks>
internal sealed record GrpoCheckpointState(
    int Step,
    IReadOnlyDictionary<string, torch.Tensor> Policy,
    IReadOnlyDictionary<string, torch.Tensor>? Reference,
    long[] OptimizerSteps,
    torch.Tensor[] ExpAvg,
    torch.Tensor[] ExpAvgSq,
    torch.Tensor RngState,
    long? StepLogLength,
    GrpoTrainerOptions Options,
    string RunId,
    long Updates,
    string OptimizerType,
    Action<string>? SaveOptimizer,
    torch.Tensor[]? Masters = null);
