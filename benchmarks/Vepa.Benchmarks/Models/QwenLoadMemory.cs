using System.Diagnostics;
using System.Globalization;
using TorchSharp;
using Vepa.Models;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// Peak host memory while loading a sharded snapshot (<c>models-loadmem</c> command): writes a random Qwen2.5-0.5B-shaped
/// snapshot (8 layers, bf16 on disk, 200 MB shards) once, then loads it in a fresh child process and reports the peak resident
/// set during what <see cref="QwenForCausalLM.FromPretrained"/> does (Linux VmHWM, reset through /proc/self/clear_refs just before) against the
/// loaded model's size and the largest shard. Not a BenchmarkDotNet suite: peak RSS is a process-wide figure.
/// </summary>
internal static class QwenLoadMemory
{
    private const int Layers = 8;
    private const long ShardBytes = 200_000_000;

    /// <summary>Runs: <c>models-loadmem [FOLDER] [--dtype float32|bfloat16]</c> (the child: <c>models-loadmem --child FOLDER DTYPE</c>).</summary>
    internal static int Run(string[] args)
    {
        if (args.Length == 3 && args[0] == "--child")
        {
            return Child(args[1], args[2] == "bfloat16" ? ScalarType.BFloat16 : ScalarType.Float32);
        }

        string folder = args.FirstOrDefault(a => !a.StartsWith("--", StringComparison.Ordinal)) ?? Path.Combine(Path.GetTempPath(), "vepa-qwen-loadmem");
        int at = Array.IndexOf(args, "--dtype");
        string dtype = at >= 0 && at + 1 < args.Length ? args[at + 1] : "float32";
        if (!File.Exists(Path.Combine(folder, "model.safetensors.index.json")))
        {
            Console.WriteLine($"Writing a random {Layers}-layer Qwen2.5-0.5B-shaped snapshot (bf16) to {folder} ...");
            var config = QwenBenchmarkShape.Config;
            config = new QwenConfig
            {
                ModelType = config.ModelType, VocabSize = config.VocabSize, HiddenSize = config.HiddenSize, IntermediateSize = config.IntermediateSize,
                NumHiddenLayers = Layers, NumAttentionHeads = config.NumAttentionHeads, NumKeyValueHeads = config.NumKeyValueHeads,
                RopeTheta = config.RopeTheta, TieWordEmbeddings = config.TieWordEmbeddings,
            };
            using var model = new QwenForCausalLM(config, dtype: ScalarType.BFloat16);
            model.SavePretrained(folder, ShardBytes);
        }

        var child = new ProcessStartInfo(Environment.ProcessPath!) { UseShellExecute = false };
        foreach (string a in new[] { "models-loadmem", "--child", folder, dtype })
        {
            child.ArgumentList.Add(a);
        }

        using var process = Process.Start(child)!;
        process.WaitForExit();
        return process.ExitCode;
    }

    private static int Child(string folder, ScalarType dtype)
    {
        using (var warm = ones(4))
        {
            _ = warm.sum().item<float>();
        }

        GC.Collect();
        long before = Status("VmRSS");
        File.WriteAllText("/proc/self/clear_refs", "5");
        var watch = Stopwatch.StartNew();
        using var model = new QwenForCausalLM(QwenConfig.FromFolder(folder), dtype: dtype, initialize: false);
        long constructed = Status("VmHWM");
        File.WriteAllText("/proc/self/clear_refs", "5");
        model.LoadWeights(folder);
        watch.Stop();
        long peak = Status("VmHWM");
        long after = Status("VmRSS");
        long modelBytes = model.parameters().Sum(p => p.NumberOfElements * p.ElementSize);
        var shards = Directory.GetFiles(folder, "model-*.safetensors").Select(f => new FileInfo(f).Length).ToList();
        long largest = shards.Max();
        static string Mb(long bytes) => (bytes / 1e6).ToString("F0", CultureInfo.InvariantCulture) + " MB";
        Console.WriteLine($"snapshot: {folder}, {shards.Count} shards, {Mb(shards.Sum())} on disk (bf16), largest shard {Mb(largest)}");
        Console.WriteLine($"loaded as {dtype} in {watch.Elapsed.TotalSeconds:F1} s: model {Mb(modelBytes)}");
        Console.WriteLine($"RSS before {Mb(before)}, peak while allocating the model {Mb(constructed)}, peak while reading the weights {Mb(peak)}, after {Mb(after)}");
        Console.WriteLine($"peak - before = {Mb(peak - before)} = model + {Mb(peak - before - modelBytes)} " +
            $"(target: <= model + largest shard = {Mb(modelBytes + largest)})");
        return peak - before <= modelBytes + largest ? 0 : 1;
    }

    private static long Status(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                return long.Parse(line[(field.Length + 1)..].Trim().Split(' ')[0], CultureInfo.InvariantCulture) * 1024;
            }
        }

        throw new InvalidOperationException($"/proc/self/status has no {field}.");
    }
}
