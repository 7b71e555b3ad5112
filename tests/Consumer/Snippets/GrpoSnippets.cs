using TorchSharp;
using Vepa.Grpo;

namespace Vepa.Consumer.Snippets;

/// <summary>GRPO-kernel snippets of the documentation and the Vepa.Grpo README (compiled here; run by <see cref="SnippetRunTests"/>).</summary>
public static class GrpoSnippets
{
    /// <summary>One GRPO update from the kernels; returns the loss statistics.</summary>
    public static PolicyLossStatistics KernelStep(
        torch.Tensor rewards, torch.Tensor hidden, torch.Tensor lmHead, torch.Tensor completionIds, torch.Tensor completionMask,
        torch.Tensor oldLogProbs, torch.Tensor referenceLogProbs)
    {
        #region snippet:kernel-step
        // rewards [prompts, G]; hidden [B, T, H] and lmHead [V, H] from your policy; completionIds, completionMask [B, T].
        using var scope = torch.NewDisposeScope();
        using AdvantageResult advantages = GroupAdvantages.Compute(rewards);   // NaN rewards excluded; zero-std groups counted
        torch.Tensor logProbs = TokenLogProbs.FromHiddenStates(hidden, lmHead, completionIds, temperature: 0.9);
        using PolicyLossResult loss = PolicyLoss.Compute(
            new PolicyLossInputs
            {
                LogProbs = logProbs,
                OldLogProbs = oldLogProbs,
                ReferenceLogProbs = referenceLogProbs,
                Advantages = advantages.Advantages.reshape(-1),
                Mask = completionMask,
            },
            new PolicyLossOptions { Beta = 0.01 });  // VEPA: clip ε = 0.2, k3 KL, sequence-mean of token-mean
        loss.Loss.backward();
        Console.WriteLine($"clip fraction {loss.Statistics.ClipFractionHigh:P1}, KL {loss.Statistics.MeanKl:F4}");
        #endregion
        return loss.Statistics;
    }

    /// <summary>The loss with an external inference engine's log-probs (truncated importance sampling).</summary>
    public static double ExternalEngineLoss(
        torch.Tensor logProbs, torch.Tensor oldLogProbs, torch.Tensor engineLogProbs, torch.Tensor advantages, torch.Tensor mask)
    {
        #region snippet:external-engine
        // Rollouts sampled by vLLM / SGLang come with the engine's per-token log-probs. The trainable copy recomputes
        // old log-probs; their gap to the engine's is corrected by a truncated importance weight (TRL and verl's "TIS").
        using PolicyLossResult loss = PolicyLoss.Compute(
            new PolicyLossInputs
            {
                LogProbs = logProbs,              // π_θ from the trainable model, with gradient
                OldLogProbs = oldLogProbs,        // π_old from the trainable model, no gradient
                SamplerLogProbs = engineLogProbs, // what the engine reported while sampling
                Advantages = advantages,
                Mask = mask,
            },
            new PolicyLossOptions { SamplerCorrection = SamplerCorrectionMode.Truncate, SamplerCorrectionMax = 3.0 });
        #endregion
        return loss.Loss.item<float>();
    }

    /// <summary>A trainer started from TRL's defaults, and verl's GRPO defaults beside it (docs/migrating.md).</summary>
    public static (GrpoTrainer Trainer, GrpoTrainerOptions Verl) FromPresets(IPolicy policy, IRewardModel rewardModel)
    {
        #region snippet:trainer-presets
        GrpoTrainerOptions options = GrpoTrainerPresets.Trl();     // GRPOConfig() as TRL ships it
        options.MaxSteps = 1000;                                    // TRL derives this from num_train_epochs; set your run's length
        var trainer = new GrpoTrainer(policy, rewardModel, options);

        GrpoTrainerOptions verl = GrpoTrainerPresets.VerlGrpo();   // ppo_trainer.yaml + adv_estimator=grpo, use_kl_loss=True, n=5
        #endregion
        return (trainer, verl);
    }

    /// <summary>Reads the signals the troubleshooting page points at.</summary>
    public static string Diagnose(IReadOnlyList<RewardResult> results, AdvantageResult advantages, PolicyLossStatistics statistics)
    {
        #region snippet:diagnose-step
        int failed = results.Count(r => !r.IsScored);                    // excluded from their group (NaN), never scored 0
        string firstFailure = results.FirstOrDefault(r => !r.IsScored)?.Failure?.Reason ?? "none";
        double zeroSignal = advantages.ZeroSignalFraction;               // groups whose rewards were all equal: no gradient
        int excluded = advantages.ExcludedRewardCount;                   // NaN rewards left out of the group statistics
        string report = $"failed rewards {failed} (first: {firstFailure}), excluded {excluded}, zero-signal groups {zeroSignal:P0}, "
            + $"KL {statistics.MeanKl:F4}, clip low/high {statistics.ClipFractionLow:P1}/{statistics.ClipFractionHigh:P1}, "
            + $"tokens {statistics.TokenCount}";
        #endregion
        return report;
    }
}
