using TorchSharp;
using static TorchSharp.torch;
using Shape = Vepa.Grpo.Tests.LossTestData.Shape;

namespace Vepa.Grpo.Tests;

/// <summary>The loss leaves no tensors behind: live-tensor counts stay flat over many training-step-like calls.</summary>
[Collection("Sequential")]
public sealed class PolicyLossLeakTests
{
    public static TheoryData<string, bool> KernelData()
    {
        var data = new TheoryData<string, bool>();
        foreach (string kernel in LossTestData.Kernels)
        {
            data.Add(kernel, false);
            data.Add(kernel, true);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Live_tensor_count_stays_flat_over_100_calls(string kernel, bool entropyTerms)
    {
        PolicyLossInputs inputs = LossTestData.Random(21, new Shape(4, 12));
        if (entropyTerms)
        {
            // The entropy path keeps a mask with the loss and its own aggregate: the path that moves tensors between scopes.
            inputs = inputs with { Entropy = rand(4, 12, dtype: ScalarType.Float64, generator: new Generator(5)).requires_grad_() };
        }

        PolicyLossInputs bad = inputs with { OldLogProbs = full(4, 12, double.NaN, dtype: ScalarType.Float64) };
        var options = new PolicyLossOptions
        {
            Kernel = kernel, Beta = 0.04, RatioLevel = RatioLevel.Sequence, DualClip = 3, SamplerCorrection = SamplerCorrectionMode.Mask,
            EntropyCoefficient = entropyTerms ? 0.01 : 0, TopEntropyQuantile = entropyTerms ? 0.5 : 1,
        };

        void Step(int i)
        {
            // One training step: a dispose scope around loss, backward and the gradient read-out; every tenth call fails validation.
            using var scope = NewDisposeScope();
            if (i % 10 == 9)
            {
                Action act = () => PolicyLoss.Compute(bad, options);
                act.Should().Throw<ArgumentException>();
                return;
            }

            PolicyLossResult result = PolicyLoss.Compute(inputs, options);
            result.Loss.backward();
            inputs.LogProbs.grad!.zero_();
            inputs.Entropy?.grad?.zero_();
        }

        for (int i = 0; i < 10; i++)
        {
            Step(i);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = DisposeScopeManager.Statistics.ThreadTotalLiveCount;
        long totalBefore = Tensor.TotalCount;
        for (int i = 0; i < 100; i++)
        {
            Step(i);
        }

        GC.Collect();
        GC.WaitForPendingFinalizers();
        DisposeScopeManager.Statistics.ThreadTotalLiveCount.Should().Be(before, "every tensor the loss creates is disposed");
        Tensor.TotalCount.Should().BeLessThanOrEqualTo(totalBefore, "no native tensor outlives its step");
    }

    [Theory]
    [MemberData(nameof(KernelData))]
    public void Without_a_dispose_scope_disposing_the_result_releases_what_the_loss_made(string kernel, bool entropyTerms)
    {
        // A caller that follows "dispose the result" and uses no scope: nothing the loss made outlives the result, with no GC.
        PolicyLossInputs inputs = LossTestData.Random(22, new Shape(4, 12));
        if (entropyTerms)
        {
            inputs = inputs with { Entropy = rand(4, 12, dtype: ScalarType.Float64, generator: new Generator(6)).requires_grad_() };
        }

        var options = new PolicyLossOptions { Kernel = kernel, Beta = 0.04, EntropyCoefficient = entropyTerms ? 0.01 : 0, TopEntropyQuantile = entropyTerms ? 0.5 : 1 };
        void Step()
        {
            using (PolicyLossResult result = PolicyLoss.Compute(inputs, options))
            {
                // The backward pass's own wrapper tensors (TorchSharp's autograd callbacks) get a scope; the loss call has none.
                using var backwardScope = NewDisposeScope();
                result.Loss.backward();
            }

            // The test's own gradient reads make wrapper tensors: they get a scope of their own.
            using var testScope = NewDisposeScope();
            inputs.LogProbs.grad!.zero_();
            inputs.Entropy?.grad?.zero_();
        }

        Step();    // gradients allocated once
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long before = Tensor.TotalCount;
        for (int i = 0; i < 20; i++)
        {
            Step();
        }

        Tensor.TotalCount.Should().BeLessThanOrEqualTo(before + 2, "the loss's tensors are released with the result, not left to the garbage collector");
    }
}
