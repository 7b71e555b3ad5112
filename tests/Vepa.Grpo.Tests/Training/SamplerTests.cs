using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

public sealed class SamplerTests
{
    private static readonly double[] Logits = [2.0, 1.0, 0.5, 0.0, -1.0, 0.3];
    private static readonly WordTokenizer SixWords = new(["<eos>", "a", "b", "c", "d", "e"]);

    // Chi-square critical values at α = 0.001 by degrees of freedom (1..5).
    private static readonly double[] Critical = [10.83, 13.82, 16.27, 18.47, 20.52];

    [Theory]
    [InlineData(1.0, 0, 1.0)]
    [InlineData(0.7, 3, 1.0)]
    [InlineData(1.3, 0, 0.8)]
    [InlineData(1.0, 4, 0.9)]
    [InlineData(0.5, 0, 0.5)]
    public async Task Sampled_tokens_follow_the_exactly_enumerated_distribution(double temperature, int topK, double topP)
    {
        const int Draws = 4000;
        double[] expected = Enumerate(Logits, temperature, topK, topP);
        using var policy = new TorchPolicy(new ScriptedModule([Logits]), SixWords);

        using var batch = await policy.Sampler.SampleAsync(
            [new PolicyPrompt("q", "a", [1])], Draws,
            new SamplingOptions { Temperature = temperature, TopK = topK, TopP = topP, MaxNewTokens = 1, Seed = 123 });

        long[] tokens = batch.CompletionIds.data<long>().ToArray();
        var counts = new double[Logits.Length];
        foreach (long t in tokens)
        {
            counts[t]++;
        }

        double chiSquare = 0;
        int support = 0;
        for (int v = 0; v < Logits.Length; v++)
        {
            if (expected[v] == 0)
            {
                counts[v].Should().Be(0, $"token {v} is outside the top-k/top-p support");
                continue;
            }

            support++;
            double e = expected[v] * Draws;
            chiSquare += (counts[v] - e) * (counts[v] - e) / e;
        }

        if (support > 1)
        {
            chiSquare.Should().BeLessThan(Critical[support - 2], $"counts [{string.Join(", ", counts)}] vs expected [{string.Join(", ", expected.Select(p => p * Draws))}]");
        }

        // The sampler's log-probs are those of the filtered distribution.
        double[] samplerLogProbs = batch.SamplerLogProbs!.data<double>().ToArray();
        for (int i = 0; i < 20; i++)
        {
            samplerLogProbs[i].Should().BeApproximately(Math.Log(expected[tokens[i]]), 1e-9);
        }
    }

    [Fact]
    public async Task Stop_tokens_end_completions_and_the_length_limit_truncates_them()
    {
        // Greedy: position i predicts token Script[i]; the first completion token of a prompt with L tokens is Script[L - 1].
        long[] script = [3, 4, 0, 5, 5, 5];
        var logits = script.Select(t => Enumerable.Range(0, 6).Select(v => v == t ? 5.0 : 0.0).ToArray()).ToArray();
        using var policy = new TorchPolicy(new ScriptedModule(logits), SixWords);
        PolicyPrompt shortPrompt = new("q", "a", [1]), longPrompt = new("q", "a", [1, 2]);

        using var ended = await policy.Sampler.SampleAsync([shortPrompt, longPrompt], 2, new SamplingOptions { Temperature = 0, MaxNewTokens = 5, StopTokenIds = [0], PadTokenId = 2 });
        using var cut = await policy.Sampler.SampleAsync([shortPrompt], 1, new SamplingOptions { Temperature = 0, MaxNewTokens = 2, StopTokenIds = [0] });

        ended.CompletionIds.data<long>().ToArray().Should().Equal(3, 4, 0, 3, 4, 0, 4, 0, 2, 4, 0, 2);
        ended.CompletionMask.data<bool>().ToArray().Should().Equal(true, true, true, true, true, true, true, true, false, true, true, false);
        ended.Truncated.Should().Equal(false, false, false, false);
        ended.Texts.Should().Equal("c d", "c d", "d", "d");
        ended.CompletionLengths.Should().Equal(3, 3, 2, 2);
        cut.CompletionIds.data<long>().ToArray().Should().Equal(3, 4);
        cut.Truncated.Should().Equal(true);
        cut.Texts.Should().Equal("c d");
    }

    [Fact]
    public async Task The_KV_cache_path_samples_exactly_what_the_recompute_path_samples()
    {
        var cached = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 8, cache: true);
        var recompute = new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 8, cache: false);
        cached.to(ScalarType.Float64);
        recompute.to(ScalarType.Float64);
        using var a = new TorchPolicy(cached, ToyTask.Tokenizer);
        using var b = new TorchPolicy(recompute, ToyTask.Tokenizer);
        var options = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 6, StopTokenIds = [0], Seed = 99 };
        PolicyPrompt[] prompts = [ToyTask.Prompt(0), ToyTask.Prompt(3), new("q", "red", [1, 2, 3])];

        using var fromCache = await a.Sampler.SampleAsync(prompts, 5, options);
        using var fromRecompute = await b.Sampler.SampleAsync(prompts, 5, options);

        fromCache.CompletionIds.data<long>().ToArray().Should().Equal(fromRecompute.CompletionIds.data<long>().ToArray());
        fromCache.Texts.Should().Equal(fromRecompute.Texts);
        (fromCache.SamplerLogProbs! - fromRecompute.SamplerLogProbs!).abs().max().item<double>().Should().BeLessThan(1e-10);
        cached.CachedForwardCalls.Should().BeGreaterThan(0, "the module offers a cache, so sampling uses it");
        recompute.CachedForwardCalls.Should().Be(0);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_completions_and_another_seed_others()
    {
        using var policy = new TorchPolicy(new TinyCausalModule(ToyTask.Vocabulary.Length, 8, seed: 8), ToyTask.Tokenizer);
        PolicyPrompt[] prompts = [ToyTask.Prompt(0), ToyTask.Prompt(1)];

        using var first = await policy.Sampler.SampleAsync(prompts, 8, new SamplingOptions { MaxNewTokens = 4, Seed = 1 });
        using var again = await policy.Sampler.SampleAsync(prompts, 8, new SamplingOptions { MaxNewTokens = 4, Seed = 1 });
        using var other = await policy.Sampler.SampleAsync(prompts, 8, new SamplingOptions { MaxNewTokens = 4, Seed = 2 });

        again.CompletionIds.data<long>().ToArray().Should().Equal(first.CompletionIds.data<long>().ToArray());
        other.CompletionIds.data<long>().ToArray().Should().NotEqual(first.CompletionIds.data<long>().ToArray());
    }

    /// <summary>The sampling distribution by exact enumeration: softmax(z / τ), keep the k largest, keep the smallest prefix (by probability) reaching p, renormalise.</summary>
    private static double[] Enumerate(double[] logits, double temperature, int topK, double topP)
    {
        int n = logits.Length;
        var scaled = logits.Select(z => z / temperature).ToArray();
        var keep = Enumerable.Repeat(true, n).ToArray();
        var order = Enumerable.Range(0, n).OrderByDescending(i => scaled[i]).ToArray();
        if (topK > 0)
        {
            foreach (int i in order.Skip(topK))
            {
                keep[i] = false;
            }
        }

        double Normaliser() => Enumerable.Range(0, n).Where(i => keep[i]).Sum(i => Math.Exp(scaled[i]));
        if (topP < 1)
        {
            double total = Normaliser(), mass = 0;
            foreach (int i in order.Where(i => keep[i]).ToArray())
            {
                if (mass >= topP)
                {
                    keep[i] = false;
                }

                mass += Math.Exp(scaled[i]) / total;
            }
        }

        double z = Normaliser();
        return Enumerable.Range(0, n).Select(i => keep[i] ? Math.Exp(scaled[i]) / z : 0).ToArray();
    }
}
