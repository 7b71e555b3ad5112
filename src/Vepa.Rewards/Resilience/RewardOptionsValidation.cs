using Microsoft.Extensions.Options;

namespace Vepa.Rewards;

/// <summary>Runs the same validation as dependency injection (data annotations, then the hand validator) for options used without it.</summary>
internal static class RewardOptionsValidation
{
    /// <summary>Throws one <see cref="ArgumentException"/> listing every problem of <paramref name="options"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="options"/> is invalid.</exception>
    public static void ThrowIfInvalid<TOptions>(TOptions options, IValidateOptions<TOptions>? crossFieldValidator, string paramName)
        where TOptions : class
    {
        ArgumentNullException.ThrowIfNull(options, paramName);
        var failures = new List<string>();
        AddFailures(new DataAnnotationValidateOptions<TOptions>(name: null).Validate(Options.DefaultName, options), failures);
        if (crossFieldValidator is not null)
        {
            AddFailures(crossFieldValidator.Validate(Options.DefaultName, options), failures);
        }

        if (failures.Count > 0)
        {
            throw new ArgumentException($"{typeof(TOptions).Name} is invalid: {string.Join("; ", failures)}", paramName);
        }
    }

    private static void AddFailures(ValidateOptionsResult result, List<string> failures)
    {
        if (result.Failed)
        {
            failures.AddRange(result.Failures ?? [result.FailureMessage]);
        }
    }
}
