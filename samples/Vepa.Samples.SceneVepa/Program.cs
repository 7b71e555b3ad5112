// SceneVepa: a VEPA stage on rendered scenes with a small vision-language policy, reproducing the paper's three measurements
// in miniature. See docs/main-job.md.
using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using Spectre.Console;
using Vepa.Rewards;
using Vepa.Samples.SceneVepa;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.Report;

RunOptions options;
try
{
    options = RunOptions.Parse(args);
}
catch (ArgumentException ex)
{
    await Console.Error.WriteLineAsync("error: " + ex.Message.Replace(Environment.NewLine, Environment.NewLine + "error: ", StringComparison.Ordinal));
    await Console.Error.WriteLineAsync("Run with --help for the options.");
    return 2;
}

if (options.ShowHelp)
{
    Console.WriteLine(RunOptions.Usage);
    return 0;
}

// The output folder must be writable before anything trains.
try
{
    Directory.CreateDirectory(options.OutputFolder);
    string probe = Path.Combine(options.OutputFolder, ".write-test");
    await File.WriteAllTextAsync(probe, "ok");
    File.Delete(probe);
}
catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
{
    await Console.Error.WriteLineAsync($"error: the output folder \"{options.OutputFolder}\" cannot be written: {ex.Message}");
    return 3;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

// The reader VEPA trains against: the offline scene reader, or an LLM behind an OpenAI-compatible endpoint.
IRewardModel trainingReward;
string readerName;
IChatClient? chat = null;
if (options.ReaderEndpoint is not null)
{
    chat = new OpenAIClient(
            new ApiKeyCredential(Environment.GetEnvironmentVariable("READER_API_KEY") ?? "none"),
            new OpenAIClientOptions { Endpoint = options.ReaderEndpoint, NetworkTimeout = TimeSpan.FromSeconds(30) })
        .GetChatClient(options.ReaderModel)
        .AsIChatClient();
    IBlindReader llmReader = chat.AsBlindReader();
    try
    {
        using var probeTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellation.Token);
        probeTimeout.CancelAfter(TimeSpan.FromSeconds(30));
        await llmReader.ReadAsync(new BlindReaderQuery("what color is the object at center?", "big red circle at center"), probeTimeout.Token);
    }
    catch (Exception ex) when (ex is BlindReaderException or OperationCanceledException or HttpRequestException)
    {
        await Console.Error.WriteLineAsync($"error: the reader at {options.ReaderEndpoint} (model \"{options.ReaderModel}\") did not answer a test question: {ex.Message}");
        chat.Dispose();
        return 4;
    }

    trainingReward = TrainingReward.Wrap(
        new SufficiencyRewardModel(llmReader, TrainingReward.SufficiencyOptions(options.Reward)).AsBuilder().UseResilience(o => o.ConcurrencyLimit.MaxConcurrency = 16).Build(),
        options.Reward);
    readerName = $"LLM reader ({options.ReaderModel})";
}
else
{
    trainingReward = TrainingReward.Wrap(new SufficiencyRewardModel(new SceneBlindReader(strict: false), TrainingReward.SufficiencyOptions(options.Reward)), options.Reward);
    readerName = "training reader";
}

var console = AnsiConsole.Console;
console.Write(new Rule("[bold]SceneVepa[/]: a VEPA stage on rendered scenes").LeftJustified());
try
{
    var run = await new MainJob(options, trainingReward, readerName, console).RunAsync(cancellation.Token);
    ConsoleReport.Print(console, run);
    console.MarkupLineInterpolated($"Report: [link]{Path.Combine(Path.GetFullPath(options.OutputFolder), "report.md")}[/]");
    return 0;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    console.MarkupLine("[yellow]Stopped.[/] Finished stages and the VEPA checkpoint are kept; continue with:");
    console.WriteLine($"  dotnet run -c Release --project samples/Vepa.Samples.SceneVepa -- {string.Join(' ', args.Where(a => a != "--resume"))} --resume");
    return 130;
}
finally
{
    trainingReward.Dispose();
    chat?.Dispose();
}
