using System.Linq.Expressions;
using System.Reflection;

namespace Vepa.Grpo.Kernels;

/// <summary>
/// How an options' <c>Kernel</c> name becomes a kernel (<see cref="PolicyLossOptions.Kernel"/>, <see cref="AdvantageOptions.Kernel"/>):
/// a name looked up in the options' <c>Kernels</c> registry (or Vepa's), with <see langword="null"/> and "auto" the automatic
/// choice; and the validation of those options once per distinct set of settings.
/// </summary>
internal static class KernelChoice
{
    /// <summary>The name of the automatic choice.</summary>
    public const string AutoName = "auto";

    /// <summary>The kernel a name picks, or <see langword="null"/> when the name is not registered.</summary>
    /// <param name="name">The options' kernel name; <see langword="null"/> is "auto".</param>
    /// <param name="kernels">The options' registry; <see langword="null"/> is Vepa's.</param>
    /// <param name="find">The registry's lookup for the contract.</param>
    /// <param name="auto">Vepa's automatic choice, there even when a registry of the host's own does not list "auto".</param>
    public static TKernel? Find<TKernel>(string? name, KernelRegistry? kernels, Func<KernelRegistry, string, TKernel?> find, TKernel auto)
        where TKernel : class
    {
        name ??= AutoName;
        return find(kernels ?? KernelRegistry.Default, name) ?? (string.Equals(name, AutoName, StringComparison.OrdinalIgnoreCase) ? auto : null);
    }

    /// <summary>The validation message for a name <see cref="Find"/> does not know.</summary>
    /// <param name="contract">The contract, e.g. "policy-loss".</param>
    /// <param name="name">The name that was not found.</param>
    /// <param name="kernels">The options' registry; <see langword="null"/> is Vepa's.</param>
    /// <param name="names">The names the registry holds for the contract.</param>
    public static string Unknown(string contract, string? name, KernelRegistry? kernels, IEnumerable<string> names)
    {
        names = names.Append(AutoName).Distinct(StringComparer.OrdinalIgnoreCase);
        return $"Kernel must name a registered {contract} kernel or be null (the automatic choice); got '{name}'. " +
            $"Registered{(kernels is null ? " (Vepa's kernels; set Kernels to a registry holding yours)" : "")}: {string.Join(", ", names)}.";
    }

    /// <summary>Whether two options hold the same settings: every public property equal (a registry by reference).</summary>
    public static bool SameSettings<TOptions>(TOptions a, TOptions b) => Comparer<TOptions>.Same(a, b);

    /// <summary>
    /// Validates options once per distinct set of values and returns the kernel they name: when the settings equal those last
    /// validated, the kernel found then; otherwise a private copy is validated (so a change made meanwhile on another thread is
    /// never taken as checked) and remembered in <paramref name="last"/>.
    /// </summary>
    /// <param name="options">The options.</param>
    /// <param name="last">The options' memory of the settings last validated; racing callers at worst validate twice.</param>
    /// <param name="copy">Copies the options, without their memory.</param>
    /// <param name="find">The kernel valid settings name.</param>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message lists all of them.</exception>
    public static TKernel Validated<TOptions, TKernel>(TOptions options, ref Validation<TOptions, TKernel>? last, Func<TOptions, TOptions> copy, Func<TOptions, TKernel?> find)
        where TOptions : class
        where TKernel : class
    {
        Validation<TOptions, TKernel>? seen = last;
        if (seen is not null && SameSettings(options, seen.Settings))
        {
            return seen.Kernel;
        }

        TOptions settings = copy(options);
        OptionsValidation.ThrowIfInvalid(settings);
        var validated = new Validation<TOptions, TKernel>(settings, find(settings)!);
        last = validated;
        return validated.Kernel;
    }

    /// <summary>Settings that passed validation (a private copy) and the kernel they name.</summary>
    /// <param name="Settings">The copy validated.</param>
    /// <param name="Kernel">The kernel it names.</param>
    internal sealed record Validation<TOptions, TKernel>(TOptions Settings, TKernel Kernel);

    // Every public property, compared with its type's default equality (NaN equals NaN): settings added later are covered
    // without being listed here, and no value is boxed.
    private static class Comparer<TOptions>
    {
        public static readonly Func<TOptions, TOptions, bool> Same = Compile();

        private static Func<TOptions, TOptions, bool> Compile()
        {
            ParameterExpression a = Expression.Parameter(typeof(TOptions), "a");
            ParameterExpression b = Expression.Parameter(typeof(TOptions), "b");
            Expression body = Expression.Constant(true);
            foreach (PropertyInfo property in typeof(TOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
            {
                if (!property.CanRead || property.GetIndexParameters().Length > 0)
                {
                    continue;
                }

                Type comparer = typeof(EqualityComparer<>).MakeGenericType(property.PropertyType);
                Expression equal = Expression.Call(
                    Expression.Property(null, comparer.GetProperty(nameof(EqualityComparer<int>.Default))!),
                    comparer.GetMethod(nameof(EqualityComparer<int>.Equals), [property.PropertyType, property.PropertyType])!,
                    Expression.Property(a, property),
                    Expression.Property(b, property));
                body = Expression.AndAlso(body, equal);
            }

            return Expression.Lambda<Func<TOptions, TOptions, bool>>(body, a, b).Compile();
        }
    }
}
