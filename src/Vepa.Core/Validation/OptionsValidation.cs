using System.Collections;
using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Linq.Expressions;
using System.Reflection;

namespace Vepa;

/// <summary>
/// The one way Vepa's options types are validated: the validation attributes (<see cref="RangeAttribute"/>,
/// <see cref="RequiredAttribute"/>, ...) on every public property, a defined value for every enum property, each type's
/// cross-field rules (<see cref="IValidatableObject"/>), and the same again for nested options, each problem naming the
/// option's path (for example <c>Loss.EpsilonLow</c>).
/// </summary>
/// <remarks>
/// Every problem is collected (attributes, enums and rules alike) so one exception lists them all. An attribute's message is
/// its <c>ErrorMessage</c> with <c>{0}</c> the option path, followed by <c>; got VALUE.</c>; a rule's message starts with the
/// property name it concerns and gets the nested path prepended. A nested options object is a property value whose type
/// declares validation attributes or implements <see cref="IValidatableObject"/>.
/// </remarks>
public static class OptionsValidation
{
    private static readonly ConcurrentDictionary<Type, Shape> Shapes = new();

    /// <summary>Lists every problem of <paramref name="options"/> and its nested options (empty when valid).</summary>
    /// <param name="options">The options object.</param>
    /// <returns>The problems, attribute checks first, then undefined enum values, then cross-field rules, then nested options.</returns>
    public static IReadOnlyList<string> Problems(object options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var problems = new List<string>();
        Collect(options, prefix: string.Empty, problems);
        return problems;
    }

    /// <summary>Throws when <paramref name="options"/> or its nested options have any problem.</summary>
    /// <param name="options">The options object.</param>
    /// <param name="parameterName">The parameter name the exception reports.</param>
    /// <exception cref="ArgumentException">One or more settings are invalid; the message is <c>Invalid TYPE: </c> and every problem.</exception>
    public static void ThrowIfInvalid(object options, string parameterName = "options")
    {
        IReadOnlyList<string> problems = Problems(options);
        if (problems.Count > 0)
        {
            throw new ArgumentException($"Invalid {options.GetType().Name}: " + string.Join(" ", problems), parameterName);
        }
    }

    private static void Collect(object options, string prefix, List<string> problems)
    {
        Shape shape = Shapes.GetOrAdd(options.GetType(), Describe);
        PropertyInfo[] properties = shape.Properties;
        var values = new object?[properties.Length];
        for (int i = 0; i < properties.Length; i++)
        {
            values[i] = shape.Getters[i](options);
        }

        ValidationContext? context = null;
        for (int i = 0; i < properties.Length; i++)
        {
            if (shape.Attributes[i].Length == 0)
            {
                continue;
            }

            context ??= new ValidationContext(options);
            context.MemberName = properties[i].Name;
            context.DisplayName = prefix + properties[i].Name;
            foreach (ValidationAttribute attribute in shape.Attributes[i])
            {
                ValidationResult? result = attribute.GetValidationResult(values[i], context);
                if (result is not null && result != ValidationResult.Success)
                {
                    problems.Add($"{result.ErrorMessage}; got {Show(values[i])}.");
                }
            }
        }

        for (int i = 0; i < properties.Length; i++)
        {
            if (values[i] is Enum value && !Enum.IsDefined(value.GetType(), value) && value.GetType().GetCustomAttribute<FlagsAttribute>() is null)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{prefix}{properties[i].Name} has an undefined value ({Convert.ToInt64(value, CultureInfo.InvariantCulture)})."));
            }
        }

        if (options is IValidatableObject rules)
        {
            foreach (ValidationResult result in rules.Validate(context ?? new ValidationContext(options)))
            {
                problems.Add(prefix + result.ErrorMessage);
            }
        }

        for (int i = 0; i < properties.Length; i++)
        {
            if (values[i] is { } nested && nested.GetType().IsClass && Shapes.GetOrAdd(nested.GetType(), Describe).IsOptions)
            {
                Collect(nested, prefix + properties[i].Name + ".", problems);
            }
        }
    }

    private static Shape Describe(Type type)
    {
        PropertyInfo[] properties = Properties(type);
        ValidationAttribute[][] attributes = properties.Select(p => p.GetCustomAttributes<ValidationAttribute>(inherit: true).ToArray()).ToArray();
        return new Shape(properties, properties.Select(Getter).ToArray(), attributes, IsOptions(type));
    }

    // A compiled getter: options are validated on every kernel call, where PropertyInfo.GetValue's cost would show.
    private static Func<object, object?> Getter(PropertyInfo property)
    {
        ParameterExpression instance = Expression.Parameter(typeof(object), "options");
        Expression read = Expression.Property(Expression.Convert(instance, property.DeclaringType!), property);
        return Expression.Lambda<Func<object, object?>>(Expression.Convert(read, typeof(object)), instance).Compile();
    }

    private static PropertyInfo[] Properties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.CanRead && p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.MetadataToken)
            .ToArray();

    private static bool IsOptions(Type type) =>
        type.IsClass && type != typeof(string) && !typeof(Delegate).IsAssignableFrom(type)
        && (typeof(IValidatableObject).IsAssignableFrom(type) || Properties(type).Any(p => p.IsDefined(typeof(ValidationAttribute), inherit: true)));

    private static string Show(object? value) => value switch
    {
        null => "null",
        string text => text,
        IFormattable formattable => formattable.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable items => "[" + string.Join(", ", items.Cast<object?>().Select(Show)) + "]",
        _ => value.ToString() ?? string.Empty,
    };

    private sealed record Shape(PropertyInfo[] Properties, Func<object, object?>[] Getters, ValidationAttribute[][] Attributes, bool IsOptions);
}
