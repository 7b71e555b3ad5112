using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>The managed kernel leaves no live tensors behind (reads the process-wide tensor count, so runs alone).</summary>
[Collection("Sequential")]
public sealed class ManagedPolicyLossLeakTests
{
    [Fact]
    public void Repeated_calls_with_backward_leave_the_live_tensor_count_flat()
    {
        PolicyLossInputs inputs = LossTestData.Random(40, new Shape(6, 50) { Dtype = ScalarType.Float32 });
        var options = new PolicyLossOptions { Beta = 0.01, Kernel = "managed" };
        var gspo = new PolicyLossOptions { RatioLevel = RatioLevel.Sequence, Beta = 0.02, Kernel = "managed" };

        void Step(PolicyLossOptions o)
        {
            using var scope = NewDisposeScope();
            using PolicyLossResult result = PolicyLoss.Compute(inputs, o);
            result.Loss.backward();
            using (no_grad())
            {
                inputs.LogProbs.grad!.zero_();
            }
        }

        for (int i = 0; i < 5; i++)
        {
            Step(options);
            Step(gspo);
        }

        // Other tests' garbage is finalized first; from here on a tensor the kernel left to its finalizer would raise the count
        // (it can only fall, when a GC finalizes something that is not ours).
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 100; i++)
        {
            Step(i % 2 == 0 ? options : gspo);
        }

        Tensor.TotalCount.Should().BeLessThanOrEqualTo(before, "every tensor the kernel creates is disposed by the caller's dispose scope");
    }
}
