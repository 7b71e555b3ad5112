using System.Collections;
using System.ComponentModel.DataAnnotations;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// docs/trainer.md and docs/configuration.md both list the trainer's options. These tests parse their option tables and hold
/// them to the code and to each other: every public settable property is documented, every documented name exists, each
/// default is the value of a fresh instance, each range is the one the validator enforces (probed at and beside each bound
/// through <see cref="OptionsValidation"/>), enum lists are complete, and the two pages give the same default, range and
/// TRL / verl names for the options they share.
/// </summary>
/// <remarks>
/// A table is an options table when its header's first cell is "option"; its type is the <c>…Options</c> name in backticks of
/// its section's heading (<c>##</c>, or a <c>###</c> that names one); tables of other types, or in sections that name none, are skipped. Columns are found by header
/// ("default", "range" or "valid", "TRL…", "verl…"). A row's first cell names its options in backticks (paths such as
/// <c>Sampling.TopP</c>; <c>Loss.*</c> points elsewhere for a nested options object). Rows may be added anywhere.
/// </remarks>
public sealed partial class OptionsDocsTests
{
    private static readonly Type[] OptionsTypes = [typeof(GrpoTrainerOptions), typeof(PolicyLossOptions), typeof(AdvantageOptions), typeof(SamplingOptions)];

    public static TheoryData<string, string> Tables() => new()
    {
        { "trainer.md", nameof(GrpoTrainerOptions) },
        { "configuration.md", nameof(GrpoTrainerOptions) },
        { "configuration.md", nameof(PolicyLossOptions) },
        { "configuration.md", nameof(AdvantageOptions) },
    };

    [Theory]
    [MemberData(nameof(Tables))]
    public void Every_public_setting_is_documented_and_every_documented_name_exists(string page, string typeName)
    {
        var doc = Page(page);
        var rows = doc.Rows(typeName);
        Type type = OptionsTypes.Single(t => t.Name == typeName);
        var problems = new List<string>();

        foreach (string path in rows.Keys.Where(p => !p.EndsWith(".*", StringComparison.Ordinal)))
        {
            if (Resolve(type, path) is null)
            {
                problems.Add($"{page}: `{path}` is documented but {typeName} has no such public settable property");
            }
        }

        foreach (string missing in Undocumented(type, prefix: string.Empty, rows, doc))
        {
            problems.Add($"{page}: {typeName}.{missing} is not in the {typeName} table (add a row with its default, range and TRL / verl names)");
        }

        ShouldBeNone(problems);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Documented_defaults_are_the_values_of_a_fresh_instance(string page, string typeName)
    {
        Type type = OptionsTypes.Single(t => t.Name == typeName);
        object fresh = Activator.CreateInstance(type)!;
        var problems = new List<string>();

        foreach (var (path, row) in Page(page).Rows(typeName))
        {
            if (Resolve(type, path) is not { } property || IsOptionsType(property.PropertyType))
            {
                continue;
            }

            object? actual = Read(fresh, path);
            string? literal = row.DefaultLiteral;
            if (literal is null)
            {
                problems.Add($"{page}: `{path}` default \"{row.Default}\" does not start with a value (a number, true/false, an enum name, none/null or empty)");
            }
            else if (!SameValue(literal, actual))
            {
                problems.Add($"{page}: `{path}` is documented with default {literal}, but a fresh {typeName} has {Show(actual)}");
            }
        }

        ShouldBeNone(problems);
    }

    [Theory]
    [MemberData(nameof(Tables))]
    public void Documented_ranges_are_the_ones_the_validator_enforces(string page, string typeName)
    {
        Type type = OptionsTypes.Single(t => t.Name == typeName);
        var problems = new List<string>();

        foreach (var (path, row) in Page(page).Rows(typeName))
        {
            if (Resolve(type, path) is not { } property || IsOptionsType(property.PropertyType))
            {
                continue;
            }

            Bounds? bounds = Bounds.Parse(row.Range);
            if (bounds is null && property.GetCustomAttribute<RangeAttribute>() is not null)
            {
                problems.Add($"{page}: `{path}` has a range attribute, but its range cell \"{row.Range}\" does not start with one ([a, b], (a, b], ≥ a, > a, …)");
            }

            if (bounds is not null && Numeric(property.PropertyType) is { } numeric)
            {
                problems.AddRange(bounds.Probe(type, path, numeric).Select(p => $"{page}: `{path}` {p}"));
            }

            Type enumType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            if (enumType.IsEnum)
            {
                var listed = Backticked(row.Range).ToHashSet(StringComparer.Ordinal);
                string[] names = Enum.GetNames(enumType);
                if (listed.Overlaps(names) && names.Except(listed).ToArray() is { Length: > 0 } unlisted)
                {
                    problems.Add($"{page}: `{path}` lists {enumType.Name} values but not {string.Join(", ", unlisted)}");
                }
            }
        }

        ShouldBeNone(problems);
    }

    [Fact]
    public void The_trainer_page_and_the_configuration_reference_agree_on_the_options_they_share()
    {
        var trainer = Page("trainer.md").Rows(nameof(GrpoTrainerOptions));
        var configuration = Page("configuration.md").Rows(nameof(GrpoTrainerOptions));
        var problems = new List<string>();

        foreach (var (path, a) in trainer)
        {
            if (!configuration.TryGetValue(path, out Row? b))
            {
                continue;
            }

            if (a.DefaultLiteral != b.DefaultLiteral)
            {
                problems.Add($"`{path}` default: trainer.md \"{a.DefaultLiteral}\", configuration.md \"{b.DefaultLiteral}\"");
            }

            if (Bounds.Parse(a.Range)?.Text != Bounds.Parse(b.Range)?.Text)
            {
                problems.Add($"`{path}` range: trainer.md \"{a.Range}\", configuration.md \"{b.Range}\"");
            }

            if (!Backticked(a.Trl).ToHashSet().SetEquals(Backticked(b.Trl)))
            {
                problems.Add($"`{path}` TRL: trainer.md \"{a.Trl}\", configuration.md \"{b.Trl}\"");
            }

            if (!Backticked(a.Verl).ToHashSet().SetEquals(Backticked(b.Verl)))
            {
                problems.Add($"`{path}` verl: trainer.md \"{a.Verl}\", configuration.md \"{b.Verl}\"");
            }
        }

        ShouldBeNone(problems);
    }

    [Fact]
    public void The_migration_guide_names_existing_keys_with_their_defaults()
    {
        // docs/migrating.md: tables with a "key" and a "Vepa default" column. Every key must be a GrpoTrainerOptions path, and its
        // default the value of a fresh instance (rows marked "(new)" included).
        string[] lines = ReadDoc("migrating.md").ReplaceLineEndings("\n").Split('\n');
        object fresh = new GrpoTrainerOptions();
        var problems = new List<string>();
        int checkedKeys = 0;
        for (int i = 0; i + 1 < lines.Length; i++)
        {
            string[] header = Cells(lines[i]);
            int keyColumn = Array.IndexOf(header, "key"), defaultColumn = Array.IndexOf(header, "Vepa default");
            if (keyColumn < 0 || defaultColumn < 0 || !lines[i + 1].StartsWith("|-", StringComparison.Ordinal))
            {
                continue;
            }

            for (i += 2; i < lines.Length && lines[i].StartsWith('|'); i++)
            {
                // "(new)" marks options that arrived with the guide; they are checked like the others.
                string[] cells = [.. Cells(lines[i]).Select(c => c.Replace(" (new)", string.Empty, StringComparison.Ordinal).Replace("(new)", string.Empty, StringComparison.Ordinal).Trim())];
                if (cells.Length <= Math.Max(keyColumn, defaultColumn))
                {
                    continue;
                }

                string[] keys = Backticked(cells[keyColumn]).ToArray();
                string[] defaults = cells[defaultColumn].Replace("`", string.Empty, StringComparison.Ordinal).Split('(')[0].Split(',', StringSplitOptions.TrimEntries);
                for (int k = 0; k < keys.Length; k++)
                {
                    string path = keys[k].Replace(':', '.');
                    checkedKeys++;
                    if (Resolve(typeof(GrpoTrainerOptions), path) is null)
                    {
                        problems.Add($"migrating.md: key `{keys[k]}` is not a GrpoTrainerOptions setting ({lines[i]})");
                    }
                    else if (k >= defaults.Length || !SameValue(defaults[k], Read(fresh, path)))
                    {
                        problems.Add($"migrating.md: `{keys[k]}` has Vepa default \"{cells[defaultColumn]}\", but a fresh GrpoTrainerOptions has {Show(Read(fresh, path))}");
                    }
                }
            }
        }

        checkedKeys.Should().BeGreaterThan(40, "the guide's TRL and verl tables name most settings by key");
        ShouldBeNone(problems);
    }

    [Fact]
    public void The_parser_reads_names_defaults_and_ranges_as_written()
    {
        // The parser itself, on a table written here (so a parser that reads nothing cannot pass the tests above by accident).
        var doc = new DocPage("test.md", """
            ## The trainer: `GrpoTrainerOptions`

            | option | default | valid | TRL | verl |
            |---|---|---|---|---|
            | `AdamBeta1`, `AdamBeta2` | 0.9, 0.999 | [0, 1) | `adam_beta1`, `adam_beta2` | `actor.optim.betas` |
            | `Iterations` (μ) | 1 | [1, 64] | `num_iterations` | — |

            ### Schedule

            | option | default | valid | TRL | verl |
            |---|---|---|---|---|
            | `Schedule` | `Constant` | `Constant`, `Linear`, `Cosine` | `lr_scheduler_type` | — |

            ## LoRA

            | option | default | valid |
            |---|---|---|
            | `Rank` | 8 | ≥ 1 |

            ## Answer matching: `AnswerMatchOptions`

            | option | default | valid |
            |---|---|---|
            | `NegationWindow` | 3 | [0, 16] |
            """);

        var rows = doc.Rows(nameof(GrpoTrainerOptions));

        rows.Keys.Should().BeEquivalentTo("AdamBeta1", "AdamBeta2", "Iterations", "Schedule");
        rows["AdamBeta2"].DefaultLiteral.Should().Be("0.999");
        Backticked(rows["AdamBeta1"].Trl).Should().Equal("adam_beta1", "adam_beta2");
        Bounds.Parse(rows["Iterations"].Range)!.Text.Should().Be("[1, 64]");
        Bounds.Parse("finite, > 0, or none")!.Text.Should().Be("(0, ∞)");
        Bounds.Parse("≥ 1, needs `CheckpointDirectory`")!.Text.Should().Be("[1, ∞)");
        Bounds.Parse("> 1 + ε_high; `Clip` only")!.Text.Should().Be("(1 + ε_high, ∞)");
        Bounds.Parse("`Keep`, `Drop`").Should().BeNull();
        Bounds.Parse("[0, 1)")!.Probe(typeof(GrpoTrainerOptions), "AdamBeta1", typeof(double)).Should().BeEmpty();
        Bounds.Parse("[0, 1]")!.Probe(typeof(GrpoTrainerOptions), "AdamBeta1", typeof(double)).Should().ContainSingle()
            .Which.Should().Contain("1 is documented as valid but the validator rejects it");
    }

    // Every problem at once, one per line (a documentation fix usually touches several rows).
    private static void ShouldBeNone(List<string> problems) =>
        Assert.True(problems.Count == 0, $"{problems.Count} problem(s):\n" + string.Join("\n", problems));

    private static IEnumerable<string> Undocumented(Type type, string prefix, IReadOnlyDictionary<string, Row> rows, DocPage doc)
    {
        foreach (PropertyInfo property in SettableProperties(type))
        {
            string path = prefix + property.Name;
            if (rows.ContainsKey(path) && !IsOptionsType(property.PropertyType))
            {
                continue;
            }

            if (!IsOptionsType(property.PropertyType))
            {
                yield return path;
                continue;
            }

            // A nested options object: a "Loss.*" row points to its own page, a table of its type documents it here, or its
            // settings are rows of this table ("Sampling.TopP").
            if (rows.ContainsKey(path + ".*") || doc.HasTable(property.PropertyType.Name))
            {
                continue;
            }

            foreach (string missing in Undocumented(property.PropertyType, path + ".", rows, doc))
            {
                yield return missing;
            }
        }
    }

    private static IEnumerable<PropertyInfo> SettableProperties(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Where(p => p.GetSetMethod() is not null && p.GetIndexParameters().Length == 0)
            .OrderBy(p => p.MetadataToken);

    private static bool IsOptionsType(Type type) => type.IsClass && typeof(IValidatableObject).IsAssignableFrom(type);

    private static PropertyInfo? Resolve(Type type, string path)
    {
        PropertyInfo? property = null;
        foreach (string name in path.Split('.'))
        {
            property = SettableProperties(type).FirstOrDefault(p => p.Name == name);
            if (property is null)
            {
                return null;
            }

            type = property.PropertyType;
        }

        return property;
    }

    /// <summary>Reads an option by its path (<c>Loss.Beta</c>).</summary>
    internal static object? Read(object instance, string path)
    {
        object? value = instance;
        foreach (string name in path.Split('.'))
        {
            value = value!.GetType().GetProperty(name)!.GetValue(value);
        }

        return value;
    }

    private static void Write(object instance, string path, object value)
    {
        string[] names = path.Split('.');
        object target = instance;
        foreach (string name in names[..^1])
        {
            target = target.GetType().GetProperty(name)!.GetValue(target)!;
        }

        target.GetType().GetProperty(names[^1])!.SetValue(target, value);
    }

    private static Type? Numeric(Type type)
    {
        Type t = Nullable.GetUnderlyingType(type) ?? type;
        return t == typeof(int) || t == typeof(long) || t == typeof(double) ? t : null;
    }

    private static bool SameValue(string literal, object? actual) => literal switch
    {
        "none" or "null" => actual is null,
        "empty" => actual is IEnumerable items and not string && !items.Cast<object>().Any(),
        "true" or "false" => actual is bool b && b == (literal == "true"),
        _ when actual is Enum e => e.ToString() == literal,
        _ when actual is int or long or double && ParseNumber(literal) is double n =>
            Convert.ToDouble(actual, CultureInfo.InvariantCulture) is double a && Math.Abs(a - n) <= 1e-12 * Math.Max(1, Math.Abs(n)),
        _ => false,
    };

    private static double? ParseNumber(string text) =>
        double.TryParse(text.Replace('−', '-'), NumberStyles.Float, CultureInfo.InvariantCulture, out double value) ? value : null;

    private static string Show(object? value) => value switch
    {
        null => "none",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable items and not string => "[" + string.Join(", ", items.Cast<object>()) + "]",
        _ => value.ToString() ?? string.Empty,
    };

    private static IEnumerable<string> Backticked(string cell) => BacktickPattern().Matches(cell).Select(m => m.Groups[1].Value);

    private static DocPage Page(string name) => new(name, ReadDoc(name));

    /// <summary>Reads docs/<paramref name="name"/> of the repository the tests were built from.</summary>
    internal static string ReadDoc(string name)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            string path = Path.Combine(dir.FullName, "docs", name);
            if (File.Exists(path))
            {
                return File.ReadAllText(path);
            }
        }

        throw new FileNotFoundException($"docs/{name} not found above {AppContext.BaseDirectory}.");
    }

    private static string[] Cells(string line)
    {
        if (!line.StartsWith('|'))
        {
            return [];
        }

        string inner = line.Trim();
        inner = inner[1..(inner.EndsWith('|') ? ^1 : ^0)];
        return inner.Split('|').Select(c => c.Trim()).ToArray();
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex BacktickPattern();

    [GeneratedRegex(@"`(\w+Options)`")]
    private static partial Regex OptionsTypePattern();

    /// <summary>One row of an options table: the cells of the default, range, TRL and verl columns.</summary>
    private sealed record Row(string Default, string Range, string Trl, string Verl)
    {
        /// <summary>Gets the default's leading value (before any explanation in parentheses), or null when it starts with none.</summary>
        public string? DefaultLiteral { get; init; }
    }

    /// <summary>The option tables of one docs page, by options type.</summary>
    private sealed class DocPage
    {
        private readonly Dictionary<string, Dictionary<string, Row>> _tables = new(StringComparer.Ordinal);
        private readonly string _name;

        public DocPage(string name, string text)
        {
            _name = name;
            string? type = null;
            string[] lines = text.ReplaceLineEndings("\n").Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                // A heading that names an options type sets the tables' type; a section heading (#, ##) that names none ends it,
                // and a subsection (###) inherits its section's.
                if (lines[i].StartsWith('#'))
                {
                    Match heading = OptionsTypePattern().Match(lines[i]);
                    type = heading.Success ? heading.Groups[1].Value : lines[i].StartsWith("###", StringComparison.Ordinal) ? type : null;
                }

                string[] header = Cells(lines[i]);
                if (type is null || header.Length == 0 || header[0] != "option" || i + 1 >= lines.Length || !lines[i + 1].StartsWith("|-", StringComparison.Ordinal))
                {
                    continue;
                }

                int Column(params string[] prefixes) => Array.FindIndex(header, h => prefixes.Any(p => h.StartsWith(p, StringComparison.OrdinalIgnoreCase)));
                int defaultColumn = Column("default"), rangeColumn = Column("range", "valid"), trlColumn = Column("TRL"), verlColumn = Column("verl");
                var rows = _tables.TryGetValue(type, out var existing) ? existing : _tables[type] = new(StringComparer.Ordinal);
                for (i += 2; i < lines.Length && lines[i].StartsWith('|'); i++)
                {
                    string[] cells = Cells(lines[i]);
                    string Cell(int column) => column >= 0 && column < cells.Length ? cells[column] : string.Empty;
                    string[] names = Backticked(Cell(0)).ToArray();
                    string?[] defaults = SplitDefaults(Cell(defaultColumn), names.Length);
                    for (int n = 0; n < names.Length; n++)
                    {
                        var row = new Row(Cell(defaultColumn), Cell(rangeColumn), Cell(trlColumn), Cell(verlColumn)) { DefaultLiteral = defaults[n] };
                        if (!rows.TryAdd(names[n], row))
                        {
                            throw new InvalidDataException($"{_name}: `{names[n]}` has two rows in the {type} tables.");
                        }
                    }
                }

                i--;
            }
        }

        public bool HasTable(string type) => _tables.ContainsKey(type);

        public IReadOnlyDictionary<string, Row> Rows(string type) =>
            _tables.TryGetValue(type, out var rows) ? rows : throw new InvalidDataException($"{_name} has no option table under a heading naming `{type}`.");

        // "0.9, 0.999" for two names; "1 (null: no clipping)" → "1"; "`GroupStd`" → "GroupStd"; text that starts with no value → null.
        private static string?[] SplitDefaults(string cell, int count)
        {
            string head = cell.Replace("`", string.Empty, StringComparison.Ordinal);
            int cut = head.IndexOfAny(['(', ';']);
            head = (cut >= 0 ? head[..cut] : head).Trim();
            string[] parts = count > 1 ? head.Split(',', StringSplitOptions.TrimEntries) : [head];
            return Enumerable.Range(0, count).Select(i => i < parts.Length && IsLiteral(parts[i]) ? parts[i] : null).ToArray();
        }

        private static bool IsLiteral(string text) =>
            text is "none" or "null" or "empty" or "true" or "false" || ParseNumber(text) is not null || Regex.IsMatch(text, @"^[A-Z]\w*$");
    }

    /// <summary>A documented range: its lower and upper bound (numeric or a named quantity) and whether each is included.</summary>
    private sealed record Bounds(string? Lower, bool LowerIncluded, string? Upper, bool UpperIncluded)
    {
        public string Text => $"{(LowerIncluded ? "[" : "(")}{Lower ?? "−∞"}, {Upper ?? "∞"}{(UpperIncluded ? "]" : ")")}";

        public static Bounds? Parse(string cell)
        {
            string text = cell.Replace("`", string.Empty, StringComparison.Ordinal).Replace(">=", "≥", StringComparison.Ordinal).Replace("<=", "≤", StringComparison.Ordinal).Trim();
            if (text.StartsWith("finite, ", StringComparison.Ordinal))
            {
                text = text["finite, ".Length..];
            }

            if (Regex.Match(text, @"^([\[(])\s*([^,\])]+?)\s*,\s*([^\])]+?)\s*([\])])") is { Success: true } interval)
            {
                return new Bounds(interval.Groups[2].Value, interval.Groups[1].Value == "[", interval.Groups[3].Value, interval.Groups[4].Value == "]");
            }

            if (Regex.Match(text, @"^(≥|>|≤|<)\s*([^,;:()\]]+)") is { Success: true } side)
            {
                string bound = side.Groups[2].Value.Trim();
                return side.Groups[1].Value switch
                {
                    "≥" => new Bounds(bound, true, null, false),
                    ">" => new Bounds(bound, false, null, false),
                    "≤" => new Bounds(null, false, bound, true),
                    _ => new Bounds(null, false, bound, false),
                };
            }

            return null;
        }

        /// <summary>Sets the option to each numeric bound and just beside it on a fresh instance and checks what the validator says.</summary>
        public IEnumerable<string> Probe(Type type, string path, Type numeric)
        {
            var problems = new List<string>();
            Check(Lower, LowerIncluded, below: true);
            Check(Upper, UpperIncluded, below: false);
            return problems;

            void Check(string? bound, bool included, bool below)
            {
                if (bound is null || ParseNumber(bound) is not double value)
                {
                    return;    // unbounded, or a bound named by another quantity (V, MaxSteps, 1 + ε_high): a cross-field rule
                }

                double step = numeric == typeof(double) ? Math.Max(1, Math.Abs(value)) * 1e-9 : 1;
                double outside = below ? value - step : value + step, inside = below ? value + step : value - step;
                Expect(value, included);
                Expect(included ? outside : inside, !included);
            }

            void Expect(double value, bool valid)
            {
                object instance = Activator.CreateInstance(type)!;
                object boxed = numeric == typeof(int) ? (object)(int)value : numeric == typeof(long) ? (object)(long)value : value;
                Write(instance, path, boxed);

                // Range problems read "PATH must ..."; other rules ("CheckpointEverySteps needs CheckpointDirectory") are not about the range.
                bool rejected = OptionsValidation.Problems(instance).Any(p => p.StartsWith(path + " must", StringComparison.Ordinal));
                if (rejected == valid)
                {
                    string shown = Show(boxed);
                    problems.Add(valid
                        ? $"range {Text}: {shown} is documented as valid but the validator rejects it"
                        : $"range {Text}: {shown} is documented as invalid but the validator accepts it");
                }
            }
        }
    }
}
