// QwenVepa: the VEPA stage on a Qwen snapshot folder (Qwen2-VL, or Qwen2 / Qwen2.5 / Qwen3), with an LLM reader behind an
// OpenAI-compatible endpoint or the offline reader of the shape world. See docs/models.md, "Training a Qwen snapshot".
using System.ClientModel;
using Microsoft.Extensions.AI;
using OpenAI;
using Vepa.Rewards;
using Vepa.Samples.QwenVepa;

if (args.Contains("--help") || args.Contains("-h"))
{
    Console.WriteLine(QwenVepaOptions.Usage);
    return 0;
}

var (options, problems) = QwenVepaOptions.Parse(args);
if (options is null)
{
    foreach (string problem in problems)
    {
        await Console.Error.WriteLineAsync("error: " + problem);
    }

    await Console.Error.WriteLineAsync("Run with --help for the options.");
    return 2;
}

using var cancellation = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancellation.Cancel();
};

IChatClient? chat = null;
IBlindReader reader;
if (options.ReaderEndpoint is not null)
{
    chat = new OpenAIClient(
            new ApiKeyCredential(Environment.GetEnvironmentVariable("READER_API_KEY") ?? "none"),
            new OpenAIClientOptions { Endpoint = options.ReaderEndpoint, NetworkTimeout = TimeSpan.FromSeconds(60) })
        .GetChatClient(options.ReaderModel)
        .AsIChatClient();
    reader = chat.AsBlindReader();
    try
    {
        using var probe = CancellationTokenSource.CreateLinkedTokenSource(cancellation.Token);
        probe.CancelAfter(TimeSpan.FromSeconds(60));
        await reader.ReadAsync(new BlindReaderQuery("What colour is the shape in the picture?", "A red square on the left of a grey picture."), probe.Token);
    }
    catch (Exception ex) when (ex is BlindReaderException or OperationCanceledException or HttpRequestException)
    {
        await Console.Error.WriteLineAsync($"error: the reader at {options.ReaderEndpoint} (model \"{options.ReaderModel}\") did not answer a test question: {ex.Message}");
        chat.Dispose();
        return 4;
    }

    Console.WriteLine($"reader: {options.ReaderModel} at {options.ReaderEndpoint}");
}
else
{
    reader = new ShapeReader();
    Console.WriteLine("reader: the offline shape-world reader (give --reader-endpoint URL --reader-model NAME for an LLM)");
}

try
{
    Directory.CreateDirectory(options.OutputFolder);
    using IRewardModel reward = new SufficiencyRewardModel(reader).AsBuilder().UseResilience(o => o.ConcurrencyLimit.MaxConcurrency = 16).Build();
    var result = await QwenVepaRun.RunAsync(options, reward, Console.Out, cancellation.Token);
    Console.WriteLine(string.Create(
        CultureInfo.InvariantCulture,
        $"done: {result.Steps.Count} steps, mean reward {(result.Steps.Count > 0 ? result.Steps.Average(s => s.RewardMean) : double.NaN):F3}"));
    return 0;
}
catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
{
    Console.WriteLine("Stopped; the checkpoint is kept. Run the same command again to continue.");
    return 130;
}
catch (Exception ex) when (ex is Vepa.Models.SnapshotFormatException or FileNotFoundException or InvalidOperationException or IOException)
{
    await Console.Error.WriteLineAsync("error: " + ex.Message);
    return 3;
}
finally
{
    chat?.Dispose();
}
