using System.Globalization;
using Microsoft.Extensions.Options;

namespace Vepa.Rewards;

/// <summary>The cross-field rules of <see cref="RewardRetryOptions"/> (data annotations check each field).</summary>
internal sealed class RewardRetryOptionsValidator : IValidateOptions<RewardRetryOptions>
{
    public ValidateOptionsResult Validate(string? name, RewardRetryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        AddFailures(options, nameof(RewardRetryOptions), failures);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Adds the cross-field failures of <paramref name="options"/>, naming fields under <paramref name="path"/>.</summary>
    public static void AddFailures(RewardRetryOptions options, string path, List<string> failures)
    {
        if (options.MaxDelay < options.BaseDelay)
        {
            failures.Add(string.Create(
                CultureInfo.InvariantCulture,
                $"{path}.MaxDelay ({options.MaxDelay:c}) must be at least {path}.BaseDelay ({options.BaseDelay:c})."));
        }
    }
}
