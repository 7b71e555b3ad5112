using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Testing;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

[Collection("Sequential")]
public sealed class TokenBudgetMicroBatchTests
{
    public static TheoryData<LossAggregation, int?, int> Cases => new()
    {
        { LossAggregation.SequenceMeanTokenMean, null, 5 },  // most rows alone exceed the budget
        { LossAggregation.TokenMean, null, 24 },
        { LossAggregation.TokenSum, null, 24 },
        { LossAggregation.ConstantNormalizer, null, 24 },   // Dr. GRPO, normaliser B × T
        { LossAggregation.ConstantNormalizer, 8, 24 },      // Dr. GRPO with L_max
        { LossAggregation.ConstantNormalizer, 1, 24 },      // verl's seq-mean-token-sum
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Token_budget_micro_batches_give_the_gradient_and_loss_of_row_based_micro_batches_in_float64(
        LossAggregation aggregation, int? maxLength, int budget)
    {
        // Prompts of 2 to 5 tokens and completions of 1 to 5 (stop token 0): rows of many lengths.
        PolicyPrompt[] prompts =
        [
            new("a", "red", [1, 2]) { Id = "a" },
            new("b", "green", [1, 3, 4, 5, 2]) { Id = "b" },
            new("c", "blue", [1, 4, 2]) { Id = "c" },
            new("d", "pink", [1, 5, 3, 2]) { Id = "d" },
        ];
        var options = new GrpoTrainerOptions
        {
            GroupSize = 4,
            Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 5, StopTokenIds = [0] },
            Loss = new PolicyLossOptions { Beta = 0.04, KlEstimator = KlEstimator.K3, Aggregation = aggregation, MaxCompletionLength = maxLength },
            Iterations = 2,
            MiniBatchSize = 8,
            WarmupSteps = 0,
            LearningRate = 0.02,
            MaxGradNorm = null,
            OptimizerFactory = parameters => optim.SGD(parameters, 0.02),  // Δθ = −0.02 × gradient: the parameters carry the gradients
            Seed = 5,
        };

        using var threads = new SingleThreadedTorch();
        var logs = new FakeLogCollector();
        var (rowState, rowRecord) = await TrainOneStep(prompts, options.Clone().With(o => o.MicroBatchSize = 2), new FakeLogCollector());
        var (budgetState, budgetRecord) = await TrainOneStep(prompts, options.Clone().With(o => o.MicroBatchTokenBudget = budget), logs);

        // The longest row has 5 + 5 = 10 tokens: a budget of 5 leaves rows over it, warned about once (several such rows).
        logs.GetSnapshot().Count(r => r.Id.Id == 30 && r.Level == LogLevel.Warning).Should().Be(budget < 10 ? 1 : 0);

        budgetRecord.CompletionLengthMax.Should().BeGreaterThan((int)budgetRecord.CompletionLengthMean, "the completions must differ in length");
        double largest = rowState.Keys.Max(name => (rowState[name] - budgetState[name]).abs().max().item<double>());
        double moved = rowState.Keys.Max(name => (rowState[name] - InitialState()[name]).abs().max().item<double>());
        largest.Should().BeLessThan(1e-12);
        moved.Should().BeGreaterThan(1e-4, "the four updates must move the parameters");
        budgetRecord.Loss.Should().BeApproximately(rowRecord.Loss, 1e-12);
        budgetRecord.Entropy.Should().BeApproximately(rowRecord.Entropy, 1e-12);
        budgetRecord.FirstUpdate!.GradNorm.Should().BeApproximately(rowRecord.FirstUpdate!.GradNorm, 1e-12);
        budgetRecord.OptimizerSteps.Should().Be(4);
        budgetRecord.SkippedOptimizerSteps.Should().Be(0);

        // What the passes computed: 2 passes over the 16 rows' prompt and completion tokens, plus padding.
        int length = budgetRecord.CompletionLengthMax;
        long real = 2 * ((4 * (2 + 5 + 3 + 4)) + budgetRecord.CompletionTokens);
        budgetRecord.UpdateTokensComputed.Should().BeGreaterThanOrEqualTo(real);
        rowRecord.UpdateTokensComputed.Should().BeGreaterThan(budgetRecord.UpdateTokensComputed, "packing by length computes less padding");
        rowRecord.UpdatePaddingFraction.Should().BeApproximately(1.0 - ((double)real / rowRecord.UpdateTokensComputed), 1e-12);
        budgetRecord.UpdatePaddingFraction.Should().BeApproximately(1.0 - ((double)real / budgetRecord.UpdateTokensComputed), 1e-12);
        Console.WriteLine($"{aggregation}/{maxLength}, budget {budget}: largest parameter difference {largest:E2}; tokens computed {rowRecord.UpdateTokensComputed} (rows) vs {budgetRecord.UpdateTokensComputed} (budget), padding {rowRecord.UpdatePaddingFraction:P1} vs {budgetRecord.UpdatePaddingFraction:P1}, T = {length}");
    }

    [Fact]
    public void Rows_are_packed_longest_first_into_rectangles_within_the_budget()
    {
        // Row:              0  1  2  3  4  5
        int[] prompt =     [ 2, 2, 5, 3, 2, 4];
        int[] completion = [ 1, 6, 3, 2, 2, 9];
        // Lengths 3, 8, 8, 5, 4, 13 → order 5, 1, 2, 3, 4, 0. Budget 16: {5} (13 alone; with 1: 2 × (4 + 9) = 26),
        // {1, 2} (2 × (5 + 6) = 22 > 16 → {1}), {2, 3} = 2 × (5 + 3) = 16, + 4: 3 × 8 = 24 → {4, 0} = 2 × (2 + 2) = 8.
        var batches = TokenBudgetPacking.Pack([0, 1, 2, 3, 4, 5], prompt, completion, 16, out int oversized);
        batches.Should().BeEquivalentTo(new[] { new[] { 5 }, new[] { 1 }, new[] { 2, 3 }, new[] { 4, 0 } }, o => o.WithStrictOrdering());
        oversized.Should().Be(-1);
        TokenBudgetPacking.Pack([0, 1, 2, 3, 4, 5], prompt, completion, 10, out oversized)[0].Should().Equal(5);
        oversized.Should().Be(5, "row 5 alone has 13 tokens > 10");
    }

    [Fact]
    public void A_token_budget_with_a_row_count_is_refused_with_both_values_named()
    {
        var options = new GrpoTrainerOptions { MicroBatchTokenBudget = 512, MicroBatchSize = 4 };
        var act = options.Validate;
        act.Should().Throw<ArgumentException>().WithMessage(
            "*MicroBatchTokenBudget (512) and MicroBatchSize (4) cannot both be set: the budget decides the micro-batches' rows.*");
        new GrpoTrainerOptions { MicroBatchTokenBudget = -1 }.Invoking(o => o.Validate())
            .Should().Throw<ArgumentException>().WithMessage("*MicroBatchTokenBudget must be >= 0*");
    }

    private static Dictionary<string, Tensor> InitialState()
    {
        using var module = NewModule();
        return module.state_dict().ToDictionary(e => e.Key, e => e.Value.detach().clone());
    }

    private static TinyCausalModule NewModule()
    {
        var module = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 21, cache: false);
        module.to(ScalarType.Float64);
        return module;
    }

    private static async Task<(Dictionary<string, Tensor> State, GrpoStepRecord Record)> TrainOneStep(PolicyPrompt[] prompts, GrpoTrainerOptions options, FakeLogCollector logs)
    {
        using var policy = new TorchPolicy(NewModule(), ToyTask.Tokenizer);
        using var reward = new ExactAnswerRewardModel(r => r.Evidence.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length);
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(new FakeLoggerProvider(logs)));
        using var trainer = new GrpoTrainer(policy, reward, options, loggerFactory: loggerFactory);
        var record = await trainer.StepAsync(prompts);
        return (policy.GetState().ToDictionary(e => e.Key, e => e.Value.detach().clone()), record);
    }
}

internal static class OptionsExtensions
{
    public static GrpoTrainerOptions With(this GrpoTrainerOptions options, Action<GrpoTrainerOptions> change)
    {
        change(options);
        return options;
    }
}
