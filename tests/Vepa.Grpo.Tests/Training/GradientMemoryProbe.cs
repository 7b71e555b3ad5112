using System.Globalization;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// Measures what freeing the gradients after the optimizer step saves between steps: the resident memory after a step (gradients
/// freed), then after putting back gradients of every parameter as they were before the change (TorchSharp's <c>zero_grad()</c>
/// zeroes them in place and keeps them). Run: <c>dotnet Vepa.Grpo.Tests.dll grad-memory [hidden]</c>.
/// </summary>
internal static class GradientMemoryProbe
{
    public const string Command = "grad-memory";

    public static async Task<int> RunAsync(int hidden)
    {
        torch.set_num_threads(1);
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, hidden, seed: 3), ToyTask.Tokenizer);
        using var trainer = new GrpoTrainer(policy, new ExactAnswerRewardModel(r => r.Evidence.Length % 3), new GrpoTrainerOptions
        {
            GroupSize = 4,
            Sampling = ToyTask.Sampling(),
            WarmupSteps = 0,
            Loss = new PolicyLossOptions { Beta = 0 },
        });
        await trainer.StepAsync(ToyTask.Batch(0, 4));
        long parameterBytes = policy.TrainableParameters.Sum(p => p.numel() * p.element_size());
        GC.Collect();
        long freed = ResidentBytes();
        using (var scope = NewDisposeScope())
        {
            // What the trainer kept before: one gradient tensor per parameter, alive until the next update.
            foreach (var p in policy.TrainableParameters)
            {
                p.grad = ones_like(p).DetachFromDisposeScope();   // written, so its pages are resident like a zeroed gradient's
            }
        }

        GC.Collect();
        long kept = ResidentBytes();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"hidden {hidden}: parameters {parameterBytes / 1e6:F1} MB; resident after a step with gradients freed {freed / 1e6:F1} MB, with gradients kept {kept / 1e6:F1} MB; saved {(kept - freed) / 1e6:F1} MB"));
        return 0;
    }

    private static long ResidentBytes()
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }
}
