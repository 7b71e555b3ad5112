using Microsoft.Extensions.Options;

namespace Vepa.Rewards;

/// <summary>The cross-field rules of <see cref="RewardResilienceOptions"/> (data annotations check each field, nested options included).</summary>
internal sealed class RewardResilienceOptionsValidator : IValidateOptions<RewardResilienceOptions>
{
    public ValidateOptionsResult Validate(string? name, RewardResilienceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.Retry is { } retry)
        {
            RewardRetryOptionsValidator.AddFailures(retry, $"{nameof(RewardResilienceOptions)}.{nameof(RewardResilienceOptions.Retry)}", failures);
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
