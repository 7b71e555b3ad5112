using System.Linq.Expressions;
using System.Reflection;

namespace Vepa.Grpo.Kernels;

/// <summary>
/// How <see cref="PolicyLossOptions.Kernel"/> becomes a kernel: a name looked up in <see cref="PolicyLossOptions.Kernels"/>
/// (or Vepa's registry), with <see langword="null"/> and "auto" the automatic choice.
/// </summary>
internal static class PolicyLossKernelChoice
{
    /// <summary>The name of the automatic choice.</summary>
    public const string AutoName = "auto";

    private static readonly Func<PolicyLossOptions, PolicyLossOptions, bool> Same = CompileComparer();

    /// <summary>The kernel the options name, or <see langword="null"/> when the name is not registered.</summary>
    public static IPolicyLossKernel? Find(PolicyLossOptions options)
    {
        KernelRegistry registry = options.Kernels ?? KernelRegistry.Default;
        string name = options.Kernel ?? AutoName;
        IPolicyLossKernel? kernel = registry.FindPolicyLossKernel(name);

        // A registry of the host's own need not list "auto": the automatic choice is always there.
        return kernel ?? (string.Equals(name, AutoName, StringComparison.OrdinalIgnoreCase) ? BuiltInPolicyLossKernel.Auto : null);
    }

    /// <summary>The validation message for a name <see cref="Find"/> does not know.</summary>
    public static string Unknown(PolicyLossOptions options)
    {
        KernelRegistry registry = options.Kernels ?? KernelRegistry.Default;
        IEnumerable<string> names = registry.PolicyLossKernels.Select(k => k.Name).Append(AutoName).Distinct(StringComparer.OrdinalIgnoreCase);
        return $"Kernel must name a registered policy-loss kernel or be null (the automatic choice); got '{options.Kernel}'. " +
            $"Registered{(options.Kernels is null ? " (Vepa's kernels; set Kernels to a registry holding yours)" : "")}: {string.Join(", ", names)}.";
    }

    /// <summary>Whether two options hold the same settings: every public property equal (a registry by reference).</summary>
    public static bool SameSettings(PolicyLossOptions a, PolicyLossOptions b) => Same(a, b);

    // Every public property, compared with its type's default equality (NaN equals NaN): settings added later are covered
    // without being listed here, and no value is boxed.
    private static Func<PolicyLossOptions, PolicyLossOptions, bool> CompileComparer()
    {
        ParameterExpression a = Expression.Parameter(typeof(PolicyLossOptions), "a");
        ParameterExpression b = Expression.Parameter(typeof(PolicyLossOptions), "b");
        Expression body = Expression.Constant(true);
        foreach (PropertyInfo property in typeof(PolicyLossOptions).GetProperties(BindingFlags.Public | BindingFlags.Instance))
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

        return Expression.Lambda<Func<PolicyLossOptions, PolicyLossOptions, bool>>(body, a, b).Compile();
    }
}
