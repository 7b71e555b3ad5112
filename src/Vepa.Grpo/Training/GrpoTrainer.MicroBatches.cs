using Microsoft.Extensions.Logging;

namespace Vepa.Grpo;

/// <summary>The trainer's token-budget micro-batches (<see cref="GrpoTrainerOptions.MicroBatchTokenBudget"/>).</summary>
public sealed partial class GrpoTrainer
{
    private bool _oversizedRowWarned;

    /// <summary>Warns once per trainer when a row alone exceeded the token budget (it was trained in a micro-batch of its own).</summary>
    private void WarnOnceIfOversized(MicroBatchPlan plan, int step)
    {
        if (plan.OversizedRow >= 0 && !_oversizedRowWarned)
        {
            _oversizedRowWarned = true;
            GrpoTrainerLog.RowOverTokenBudget(_logger, step, plan.OversizedRow, plan.OversizedTokens, _options.MicroBatchTokenBudget);
        }
    }
}

/// <summary>The log messages of the token-budget micro-batches.</summary>
internal static partial class GrpoTrainerLog
{
    [LoggerMessage(EventId = 30, Level = LogLevel.Warning,
        Message = "GRPO step {Step}: row {Row} has {Tokens} tokens (prompt + completion), more than MicroBatchTokenBudget = {Budget}; it was trained in a micro-batch of its own. Raise the budget to at least the longest prompt + MaxNewTokens to bound memory. Warned once per trainer.")]
    public static partial void RowOverTokenBudget(ILogger logger, int step, int row, long tokens, int budget);
}
