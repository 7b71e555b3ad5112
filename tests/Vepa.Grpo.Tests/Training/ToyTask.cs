namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A toy task with a reward computable in code: the prompt is a question token ("q0" … "q3") with one right answer word
/// (red, green, blue, pink); <see cref="FirstWordReward"/> pays 1 when the completion starts with it.
/// </summary>
internal static class ToyTask
{
    public static readonly string[] Vocabulary = ["<eos>", "<bos>", "q0", "q1", "q2", "q3", "red", "green", "blue", "pink"];

    public static WordTokenizer Tokenizer { get; } = new(Vocabulary);

    public static string AnswerFor(int question) => Vocabulary[6 + question];

    public static PolicyPrompt Prompt(int question) =>
        new($"q{question}", AnswerFor(question), [1, 2 + question]) { Id = $"q{question}" };

    public static IReadOnlyList<PolicyPrompt> Batch(int step, int prompts) =>
        Enumerable.Range(0, prompts).Select(i => Prompt(((step * 7) + i) % 4)).ToArray();

    /// <summary>1 when the completion's first word is the answer, else 0 (chance: 1 in 10).</summary>
    public static double FirstWordReward(RewardRequest request) => request.Evidence.Split(' ')[0] == request.GoldAnswer ? 1.0 : 0.0;

    public static SamplingOptions Sampling(int maxNewTokens = 3) => new() { Temperature = 1.0, MaxNewTokens = maxNewTokens, StopTokenIds = [0] };

    /// <summary>The policy the learning tests train: hidden size 16, seed 2.</summary>
    public static TorchPolicy NewLearner() => new(new TinyCausalModule(Vocabulary.Length, 16, seed: 2), Tokenizer);

    /// <summary>The learning tests' settings: G = 16, μ = 2 and DAPO's clip-higher keep exploring (see TrainerLearningTests).</summary>
    public static GrpoTrainerOptions LearnerOptions(double beta, int maxSteps) => new()
    {
        GroupSize = 16,
        Sampling = Sampling(),
        LearningRate = 0.01,
        WarmupSteps = 0,
        MaxSteps = maxSteps,
        Iterations = 2,
        Seed = 5,
        Loss = new PolicyLossOptions { Beta = beta, EpsilonHigh = 0.28 },
    };
}
