namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A toy task with a reward computable in code: the prompt names a colour ("q0" … "q3"); the completion earns 1 when its first
/// word is that colour's partner word and it ends right after ("<eos>"), else 0. Chance is about 1/8 per rollout.
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

    public static SamplingOptions Sampling(int maxNewTokens = 3) => new() { Temperature = 1.0, MaxNewTokens = maxNewTokens, StopTokenIds = [0] };
}
