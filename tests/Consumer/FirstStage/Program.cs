#region snippet:first-stage
// Program.cs of a console app (`dotnet new console`, implicit usings on) with the packages Vepa.Grpo, Vepa.Rewards,
// TorchSharp-cpu and Microsoft.Extensions.DependencyInjection. The toy task: which colour is each of six objects; the
// policy answers with one word, and the reward is 1 when that word is the gold colour.
using Microsoft.Extensions.DependencyInjection;
using TorchSharp;
using TorchSharp.Modules;
using Vepa;
using Vepa.Grpo;
using Vepa.Rewards;
using static TorchSharp.torch;

namespace FirstStage;

public static class Program
{
    private static readonly string[] Colours = ["red", "green", "blue", "yellow", "black", "white", "purple", "orange"];
    private static readonly string[] Objects = ["ball", "cube", "car", "cup", "kite", "lamp"];

    public static async Task Main() => await TrainAsync(steps: 30);

    public static async Task<IReadOnlyList<GrpoStepRecord>> TrainAsync(int steps)
    {
        // The prompts: question, gold answer, and the token ids the policy model reads (here: "<bos> ball" and so on).
        var tokenizer = new WordTokenizer(["<eos>", "<bos>", .. Objects, .. Colours]);
        PolicyPrompt[] prompts = Enumerable.Range(0, Objects.Length)
            .Select(i => new PolicyPrompt($"What colour is the {Objects[i]}?", Colours[(3 * i + 1) % Colours.Length],
                [tokenizer.IdOf("<bos>"), tokenizer.IdOf(Objects[i])]))
            .ToArray();

        var services = new ServiceCollection();
        services.AddRewardModel(new GoldAnswerReward())             // your IRewardModel (or SufficiencyRewardModel over a reader)
            .UseConcurrencyLimit(8);
        services.AddGrpoTrainer(_ => new TorchPolicy(new TinyPolicyModule(tokenizer.VocabularySize, hidden: 16, seed: 1), tokenizer))
            .Configure(o =>
            {
                o.GroupSize = 8;
                o.Sampling = new SamplingOptions { Temperature = 1.0, MaxNewTokens = 2, StopTokenIds = [tokenizer.IdOf("<eos>")] };
                o.LearningRate = 0.05;                               // a toy model; VEPA's default is 1e-6
                o.WarmupSteps = 0;
                o.MaxSteps = steps;
                o.Seed = 7;
            });

        await using ServiceProvider provider = services.BuildServiceProvider();
        GrpoTrainer trainer = provider.GetRequiredService<GrpoTrainer>();
        var records = new List<GrpoStepRecord>();
        for (int step = 0; step < steps; step++)
        {
            GrpoStepRecord record = await trainer.StepAsync(prompts);
            records.Add(record);
            Console.WriteLine($"step {record.Step}: reward {record.RewardMean:F3}, failed {record.FailedRewardCount}, KL {record.Kl:F4}");
        }

        return records;
    }
}

/// <summary>The reward: 1 when the evidence (the policy's answer) names the gold answer, else 0.</summary>
public sealed class GoldAnswerReward : IRewardModel
{
    public Task<IReadOnlyList<RewardResult>> ScoreAsync(IReadOnlyList<RewardRequest> requests, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(requests);
        IReadOnlyList<RewardResult> results = requests
            .Select(r => RewardResult.Scored(r.Evidence.Contains(r.GoldAnswer, StringComparison.OrdinalIgnoreCase) ? 1.0 : 0.0))
            .ToArray();
        return Task.FromResult(results);
    }

    public object? GetService(Type serviceType, object? serviceKey = null) =>
        serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;

    public void Dispose()
    {
    }
}

/// <summary>The policy model: token embeddings, a causal running mean, and an LM head (a real model returns its
/// transformer's last hidden states the same way).</summary>
public sealed class TinyPolicyModule : PolicyModule
{
    private readonly int _vocabulary;
    private readonly int _hidden;
    private readonly Embedding _embed;
    private readonly Parameter _head;

    public TinyPolicyModule(int vocabulary, int hidden, long seed)
        : base(nameof(TinyPolicyModule))
    {
        _vocabulary = vocabulary;
        _hidden = hidden;
        using var generator = new Generator((ulong)seed);
        _embed = nn.Embedding(vocabulary, hidden);
        _head = new Parameter(randn(vocabulary, hidden, generator: generator) * 0.1);
        using (no_grad())
        {
            _embed.weight!.copy_(randn(vocabulary, hidden, generator: generator));
        }

        RegisterComponents();
    }

    public override Tensor LmHeadWeight => _head;

    public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
    {
        using var scope = NewDisposeScope();
        Tensor x = _embed.forward(tokenIds);                                    // [B, L, H]
        if (prefix is not null)
        {
            x = cat([prefix, x], 1);                                             // image or other prefix first
        }

        Tensor positions = arange(1, x.shape[1] + 1, dtype: x.dtype, device: x.device).reshape(1, -1, 1);
        return tanh(x.cumsum(1) / positions).MoveToOuterDisposeScope();         // [B, P + L, H]
    }

    public override PolicyModule CloneArchitecture() => new TinyPolicyModule(_vocabulary, _hidden, seed: 0);
}
#endregion
