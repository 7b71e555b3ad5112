using Microsoft.Extensions.Options;

namespace Vepa.Grpo;

/// <summary>Validates <see cref="GrpoTrainerOptions"/> for the options system (data annotations, cross-field rules, nested options), with the same messages as <see cref="GrpoTrainerOptions.Validate"/>.</summary>
internal sealed class GrpoTrainerOptionsValidator : IValidateOptions<GrpoTrainerOptions>
{
    public ValidateOptionsResult Validate(string? name, GrpoTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        IReadOnlyList<string> problems = OptionsValidation.Problems(options);
        return problems.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(problems);
    }
}
