using System.Globalization;

namespace Vepa.Rewards.Tests.Matching;

/// <summary>
/// The matching table (MatchingTable.tsv): cases written from VQA grading conventions (normalisation, number words, singular/plural,
/// units, compounds, yes/no idioms, multiple-choice labels) and from the vectors a policy uses to farm a lenient matcher (lists, ranges,
/// hedges, non-answers, repeating every option). The expected column is what a careful human grader decides, not what the code does.
/// </summary>
public sealed class MatchingTableTests
{
    private static readonly AnswerMatcher Matcher = new();

    public static TheoryData<int, string, string, string, bool, string> Cases
    {
        get
        {
            var data = new TheoryData<int, string, string, string, bool, string>();
            foreach (TableRow row in ReadTable())
            {
                data.Add(row.Line, row.Gold, row.Answer, row.Choices, row.Expected, row.Convention);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void The_matcher_agrees_with_the_grader(int line, string gold, string answer, string choices, bool expected, string convention)
    {
        IReadOnlyList<string>? options = choices.Length == 0 ? null : choices.Split('|');

        AnswerMatch match = Matcher.Match(answer, gold, options);

        match.IsMatch.Should().Be(expected, "line {0} ({1}): \"{2}\" for gold \"{3}\" gave {4}", line, convention, answer, gold, match.Kind);
    }

    [Fact]
    public void The_table_has_at_least_600_cases_with_both_outcomes_in_every_family()
    {
        List<TableRow> rows = ReadTable();

        rows.Should().HaveCountGreaterThanOrEqualTo(600);
        rows.Select(r => (r.Gold, r.Answer, r.Choices)).Should().OnlyHaveUniqueItems();
        rows.Count(r => r.Expected).Should().BeGreaterThan(100);
        rows.Count(r => !r.Expected).Should().BeGreaterThan(100);
    }

    private static List<TableRow> ReadTable()
    {
        string path = Path.Combine(AppContext.BaseDirectory, "Matching", "MatchingTable.tsv");
        var rows = new List<TableRow>();
        string[] lines = File.ReadAllLines(path);
        for (int i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0 || lines[i].StartsWith('#'))
            {
                continue;
            }

            string[] fields = lines[i].Split('\t');
            if (fields.Length != 5 || fields[3] is not ("0" or "1"))
            {
                throw new InvalidDataException(string.Create(CultureInfo.InvariantCulture, $"MatchingTable.tsv line {i + 1} must have 5 tab-separated fields with 0 or 1 in the fourth."));
            }

            rows.Add(new TableRow(i + 1, fields[0], fields[1].Replace("\\n", "\n", StringComparison.Ordinal), fields[2], fields[3] == "1", fields[4]));
        }

        return rows;
    }

    private sealed record TableRow(int Line, string Gold, string Answer, string Choices, bool Expected, string Convention);
}
