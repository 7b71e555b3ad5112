using System.Globalization;
using Xunit.Abstractions;

namespace Vepa.Rewards.Tests.Sufficiency;

/// <summary>
/// The repetition penalty hits degeneration, not description: honest CLEVR-, GQA-, COCO-, chart- and text-style descriptions (many similar
/// objects, shared attributes, numbered lists, unsegmented scripts) keep γ = 1 under the default options; exact, numbered, paraphrased,
/// homoglyph, zero-width, diacritic and unsegmented-script repeats fall to at most 0.8.
/// </summary>
public sealed class RepetitionCalibrationTests(ITestOutputHelper output)
{
    private const double DegenerateCeiling = 0.8;

    public static TheoryData<string, string, string> Rows
    {
        get
        {
            var data = new TheoryData<string, string, string>();
            foreach (string line in File.ReadAllLines(Path.Combine(AppContext.BaseDirectory, "Sufficiency", "RepetitionCalibration.tsv")))
            {
                if (line.Length == 0 || line.StartsWith('#'))
                {
                    continue;
                }

                string[] fields = line.Split('\t');
                data.Add(fields[0], fields[1], fields[2]);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(Rows))]
    public void Honest_descriptions_keep_gamma_one_and_degenerate_ones_fall(string kind, string style, string text)
    {
        var options = new SufficiencyRewardOptions();

        double measure = RepetitionPenalty.Measure(text, options.RepetitionNGramSize, options.Repetition);
        double gamma = RepetitionPenalty.Gamma(measure, options.RepetitionThreshold, options.RepetitionFloor);

        if (kind == "honest")
        {
            gamma.Should().Be(1.0, "honest {0} text must not be penalised (measure {1})", style, measure.ToString("0.###", CultureInfo.InvariantCulture));
        }
        else
        {
            gamma.Should().BeLessThanOrEqualTo(DegenerateCeiling, "{0} repetition must be penalised (measure {1})", style, measure.ToString("0.###", CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void The_old_word_trigram_ratio_penalised_an_honest_CLEVR_list()
    {
        // The regression the issue reported: the plain word-trigram ratio counts "there is a" as repetition.
        const string Clevr = "There is a large red metal cube. There is a small blue rubber sphere. There is a large green metal cylinder. There is a small yellow rubber cube. There is a large gray metal sphere.";

        RepetitionPenalty.Gamma(RepetitionPenalty.RepeatedNGramRatio(Clevr, 3), 0.2, 0.5).Should().BeLessThan(1.0);
        RepetitionPenalty.Measure(Clevr, 3).Should().BeLessThanOrEqualTo(0.2);
    }

    [Fact]
    public async Task The_length_penalty_is_on_at_800_words_by_default_and_scales_gamma_beyond_its_word_count()
    {
        string text = string.Join(' ', Enumerable.Range(0, 200).Select(i => string.Create(CultureInfo.InvariantCulture, $"object{i} sits there.")));
        var lengthOptions = new SufficiencyRewardOptions { Repetition = new RepetitionPenaltyOptions { LengthPenaltyWords = 300 } };

        new RepetitionPenaltyOptions().LengthPenaltyWords.Should().Be(800);
        RepetitionPenalty.CountWords(text).Should().Be(600);
        using var model = new SufficiencyRewardModel(new DelegateBlindReader(_ => new BlindReaderReply("red", true)), lengthOptions);
        RewardResult result = (await model.ScoreAsync([new RewardRequest("Q?", "red", text)])).Single();

        result.Components[RewardComponentNames.Repetition].Should().BeApproximately(0.5, 1e-12, "300 / 600 words");
    }

    [Fact]
    public void Honest_and_degenerate_texts_are_separated_and_the_margin_is_reported()
    {
        var options = new SufficiencyRewardOptions();
        var honest = new List<double>();
        var degenerate = new List<double>();
        foreach (object[] row in Rows)
        {
            string text = (string)row[2];
            double gamma = GammaWithLength(text, options);
            ((string)row[0] == "honest" ? honest : degenerate).Add(gamma);
        }

        // Cap-filling: one honest sentence padded to the cap with words that add nothing, and an honest long description.
        string filler = "A blue car is parked by the wall. " + string.Join(' ', Enumerable.Range(0, 1300).Select(i => string.Create(CultureInfo.InvariantCulture, $"w{i}")));
        degenerate.Add(GammaWithLength(filler[..Math.Min(filler.Length, 8000)], options));
        string longHonest = string.Join(' ', Rows.Where(r => (string)r[0] == "honest" && (string)r[1] is "GQA" or "COCO" or "TextVQA" or "ScienceQA" or "ChartQA").Select(r => (string)r[2]));
        RepetitionPenalty.CountWords(longHonest).Should().BeGreaterThan(400, "the long honest description joins every natural-image description");
        honest.Add(GammaWithLength(longHonest, options));

        double honestMin = honest.Min();
        double degenerateMax = degenerate.Max();
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"honest: {honest.Count} texts, min gamma {honestMin:0.###}; degenerate: {degenerate.Count} texts, max gamma {degenerateMax:0.###}, mean {degenerate.Average():0.###}; separation {honestMin - degenerateMax:0.###}"));
        honestMin.Should().Be(1.0);
        degenerateMax.Should().BeLessThanOrEqualTo(DegenerateCeiling);
    }

    /// <summary>γ as the reward computes it: the repetition measure, then the length rule.</summary>
    private static double GammaWithLength(string text, SufficiencyRewardOptions options)
    {
        double gamma = RepetitionPenalty.Gamma(RepetitionPenalty.Measure(text, options.RepetitionNGramSize, options.Repetition), options.RepetitionThreshold, options.RepetitionFloor);
        int words = RepetitionPenalty.CountWords(text);
        return options.Repetition.LengthPenaltyWords is int limit && words > limit ? Math.Max(options.RepetitionFloor, gamma * limit / words) : gamma;
    }
}
