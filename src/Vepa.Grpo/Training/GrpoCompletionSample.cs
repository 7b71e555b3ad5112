namespace Vepa.Grpo;

/// <summary>One completion of a step as logged by <see cref="GrpoTrainerOptions.LogCompletions"/>: what the policy wrote, how it scored, the advantage it trained with.</summary>
public sealed record GrpoCompletionSample
{
    /// <summary>Gets the step (1-based).</summary>
    public required int Step { get; init; }

    /// <summary>Gets the rollout's row in the step's batch (group after group).</summary>
    public required int Row { get; init; }

    /// <summary>Gets the prompt's id, or <see langword="null"/> when it has none.</summary>
    public string? PromptId { get; init; }

    /// <summary>Gets the prompt's text (<see cref="PolicyPrompt.Question"/>).</summary>
    public required string Prompt { get; init; }

    /// <summary>Gets the decoded completion.</summary>
    public required string Completion { get; init; }

    /// <summary>Gets the combined reward Σ_k w_k r_k (NaN when a component failed).</summary>
    public required double Reward { get; init; }

    /// <summary>Gets each component's reward, unweighted, by component name (NaN where it failed).</summary>
    public required IReadOnlyDictionary<string, double> ComponentRewards { get; init; }

    /// <summary>Gets the rollout's advantage.</summary>
    public required double Advantage { get; init; }
}
