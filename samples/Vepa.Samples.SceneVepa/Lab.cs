using TorchSharp;
using Vepa.Grpo;
using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

namespace Vepa.Samples.SceneVepa;

// Temporary prototype of the GRPO loop with the kernels, to tune the stage before the trainer lands.
internal static class Lab
{
    public static Tensor Sample(SceneVlm model, Tensor prefix, Tensor prompts, double temperature, int maxNew, Generator g)
    {
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        var tokens = prompts;
        var done = torch.zeros(prompts.shape[0], dtype: ScalarType.Bool);
        for (int step = 0; step < maxNew; step++)
        {
            var logits = model.Logits(model.forward(prefix, tokens)[.., -1]) / temperature;
            var next = torch.multinomial(logits.softmax(-1), 1, generator: g).squeeze(1);
            next = next.masked_fill(done, Vocabulary.Eos);
            tokens = torch.cat([tokens, next.unsqueeze(1)], dim: 1);
            done = done.logical_or(next.eq(Vocabulary.Eos));
            if (done.all().item<bool>()) break;
        }
        return tokens[.., Vocabulary.PromptLength..].MoveToOuterDisposeScope();
    }

    public static async Task RunAsync(SceneVlm model, IRewardModel reward, Func<int, IReadOnlyList<VqaItem>> prompts, int steps, double lr, int g, Generator gen)
    {
        using var reference = model.Copy();
        using var opt = torch.optim.AdamW(model.parameters(), lr: lr, weight_decay: 0.0);
        for (int step = 0; step < steps; step++)
        {
            var items = prompts(step);
            var rollouts = items.SelectMany(i => Enumerable.Repeat(i, g)).ToList();
            using var scope = torch.NewDisposeScope();
            var images = Batches.Images(rollouts.Select(r => r.Scene).ToList());
            var promptIds = Batches.Prompts(rollouts.Select(r => r.Question).ToList(), Vocabulary.EvidenceTask);
            Tensor completions;
            using (torch.no_grad()) completions = Sample(model, model.EncodeImages(images), promptIds, 0.9, 16, gen);
            long t = completions.shape[1];
            long[] ids = completions.contiguous().data<long>().ToArray();
            var texts = Enumerable.Range(0, rollouts.Count).Select(i => Vocabulary.Decode(ids.AsSpan(i * (int)t, (int)t))).ToList();
            var results = await reward.ScoreAsync(rollouts.Select((r, i) => r.ToRequest(texts[i])).ToList());
            var rewards = torch.tensor(results.Select(r => r.Value).ToArray(), dtype: float32).reshape(items.Count, g);
            using var adv = GroupAdvantages.Compute(rewards);
            var isEnd = completions.eq(Vocabulary.Eos).to(int64);
            var mask = (isEnd.cumsum(1) - isEnd).eq(0);
            var input = torch.cat([promptIds, completions[.., ..(int)(t - 1)]], 1);
            Tensor Hidden(SceneVlm m) => m.forward(m.EncodeImages(images), input)[.., (Vocabulary.PromptLength - 1)..];
            Tensor refLp, oldLp;
            using (torch.no_grad())
            {
                refLp = TokenLogProbs.FromHiddenStates(Hidden(reference), reference.HeadWeight, completions, temperature: 0.9);
                oldLp = TokenLogProbs.FromHiddenStates(Hidden(model), model.HeadWeight, completions, temperature: 0.9);
            }
            var lp = TokenLogProbs.FromHiddenStates(Hidden(model), model.HeadWeight, completions, temperature: 0.9);
            using var loss = PolicyLoss.Compute(new PolicyLossInputs { LogProbs = lp, OldLogProbs = oldLp, ReferenceLogProbs = refLp, Advantages = adv.Advantages.reshape(-1), Mask = mask }, new PolicyLossOptions { Beta = 0.01 });
            opt.zero_grad();
            loss.Loss.backward();
            nn.utils.clip_grad_norm_(model.parameters(), 1.0);
            opt.step();
            if (step % 10 == 0 || step == steps - 1)
                Console.WriteLine($"step {step} R {results.Average(r => r.Value):F3} zero {adv.ZeroSignalFraction:F2} len {mask.sum().item<long>() / (double)rollouts.Count:F1} kl {loss.Statistics.MeanKl:F4} | {rollouts[0].Question} -> {texts[0]}");
        }
    }
}
