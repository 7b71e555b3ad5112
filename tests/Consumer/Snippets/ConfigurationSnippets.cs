using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Vepa.Grpo;

namespace Vepa.Consumer.Snippets;

/// <summary>The trainer's options bound from an appsettings.json section, exactly as docs/configuration.md shows it.</summary>
public sealed partial class ConfigurationSnippets
{
    internal static void AddTrainerFromConfiguration(IServiceCollection services, IPolicy policy, string settingsFolder)
    {
        #region snippet:trainer-configuration
        IConfiguration configuration = new ConfigurationBuilder()
            .SetBasePath(settingsFolder)
            .AddJsonFile("appsettings.json")
            .Build();
        services.AddGrpoTrainer(_ => policy)
            .Bind(configuration.GetSection("Grpo"));     // validated on start: one error lists every problem
        #endregion
    }

    [Fact]
    public async Task The_documented_appsettings_bind_to_the_trainer_options()
    {
        string page = File.ReadAllText(Path.Combine(ConsumerEnvironment.RepositoryRoot, "docs", "configuration.md")).ReplaceLineEndings("\n");
        Match json = AppSettingsBlock().Match(page);
        json.Success.Should().BeTrue("docs/configuration.md shows the appsettings.json it documents");
        string folder = Directory.CreateTempSubdirectory("vepa-consumer-").FullName;
        try
        {
            await File.WriteAllTextAsync(Path.Combine(folder, "appsettings.json"), json.Groups["json"].Value);
            var tokenizer = new WordTokenizer(["<eos>", "a", "b"]);
            var services = new ServiceCollection();
            using var policy = new TorchPolicy(new ColourAnswerModule(tokenizer.VocabularySize, hidden: 4, seed: 1), tokenizer);

            AddTrainerFromConfiguration(services, policy, folder);

            await using ServiceProvider provider = services.BuildServiceProvider();
            GrpoTrainerOptions options = provider.GetRequiredService<IOptions<GrpoTrainerOptions>>().Value;
            options.GroupSize.Should().Be(8);
            options.LearningRate.Should().Be(5e-7);
            options.Schedule.Should().Be(LearningRateSchedule.Cosine);
            options.MaxSteps.Should().Be(500);
            options.Iterations.Should().Be(2);
            options.MaxGradNorm.Should().Be(1.0);
            options.Sampling.Temperature.Should().Be(0.9);
            options.Sampling.MaxNewTokens.Should().Be(256);
            options.Loss.Beta.Should().Be(0.01);
            options.Loss.EpsilonHigh.Should().Be(0.28);
            options.ZeroSignalGroups.Should().Be(ZeroSignalGroupHandling.Drop);
            options.MaskTruncatedCompletions.Should().BeTrue();
            options.CheckpointEverySteps.Should().Be(50);
            options.Validate();
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    [GeneratedRegex(@"<!-- appsettings -->\n```json\n(?<json>.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex AppSettingsBlock();
}
