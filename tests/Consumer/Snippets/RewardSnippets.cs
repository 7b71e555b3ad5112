using System.ClientModel;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using Vepa.Rewards;

namespace Vepa.Consumer.Snippets;

/// <summary>Reward-side snippets of the documentation and the package READMEs (compiled here; some also run in tests).</summary>
public static class RewardSnippets
{
    public static IChatClient CreateReaderClient()
    {
        #region snippet:openai-reader
        // The blind reader: any OpenAI-compatible server (vLLM, SGLang, llama.cpp, Ollama, Azure OpenAI, OpenAI).
        IChatClient chat = new OpenAIClient(
                new ApiKeyCredential(Environment.GetEnvironmentVariable("READER_API_KEY") ?? "none"),
                new OpenAIClientOptions { Endpoint = new Uri("http://localhost:8000/v1") })
            .GetChatClient("Qwen2.5-7B-Instruct")
            .AsIChatClient();
        #endregion
        return chat;
    }

    public static async Task<IReadOnlyList<RewardResult>> ScoreWithBlindReaderAsync(IChatClient chat)
    {
        #region snippet:sufficiency-reward
        // R = s·h·γ (the paper's Eq. 11), scored with caching, retries, a concurrency limit and a per-call timeout.
        using IRewardModel reward = new SufficiencyRewardModel(chat.AsBlindReader())
            .AsBuilder()
            .UseResilience(o => o.ConcurrencyLimit.MaxConcurrency = 32)
            .Build();

        IReadOnlyList<RewardResult> results = await reward.ScoreAsync(
        [
            new RewardRequest("What color is the car?", "blue", evidence: "A blue sedan is parked by the door."),
            // ... one request per sampled evidence, G per question
        ]);
        // A call that still fails comes back with Status = Failed, Value = NaN and the reason: never silently 0.
        #endregion
        return results;
    }

    public static IRewardModel ComposePipeline(IRewardModel myReward)
    {
        #region snippet:reward-pipeline
        // The first stage added is the outermost: metrics see every call, the cache answers repeats before any
        // retry, and each attempt gets its own timeout inside the concurrency limit.
        IRewardModel reward = myReward
            .AsBuilder()
            .UseMetrics()                                   // meter "Vepa.Rewards"
            .UseCaching()                                   // identical requests in a batch cost one call
            .UseRetry(new RewardRetryOptions { MaxRetries = 2 })
            .UseConcurrencyLimit(8)
            .UseTimeout(TimeSpan.FromSeconds(20))
            .Build();
        #endregion
        return reward;
    }

    public static ServiceProvider RegisterThroughDependencyInjection()
    {
        #region snippet:reward-di
        var services = new ServiceCollection();
        services.AddRewardResilienceOptions(o => o.Timeout = TimeSpan.FromSeconds(20));  // validated on start
        services.AddRewardModel(provider => new ExactAnswerReward())
            .UseResilience();                               // reads the registered options
        services.AddKeyedRewardModel("reader", new SufficiencyRewardModel(new KeywordBlindReader()));

        ServiceProvider provider = services.BuildServiceProvider();
        IRewardModel reward = provider.GetRequiredService<IRewardModel>();
        IRewardModel readerReward = provider.GetRequiredKeyedService<IRewardModel>("reader");
        #endregion
        _ = reward;
        _ = readerReward;
        return provider;
    }

    public static IBlindReader CreateDelegateReader()
    {
        #region snippet:delegate-reader
        // A function is a blind reader too: exceptions it throws become BlindReaderException (transient where retrying may help).
        IBlindReader reader = new DelegateBlindReader(query =>
            new BlindReaderReply(Answer: query.Evidence.Contains("blue", StringComparison.Ordinal) ? "blue" : string.Empty, IsHonest: true));
        #endregion
        return reader;
    }
}
