using System.Globalization;
using System.Runtime.InteropServices;

namespace Vepa.Benchmarks.LogProbs;

/// <summary>
/// Peak extra native (resident) memory of one call, measured with Linux's peak-RSS counter: write "5" to
/// /proc/self/clear_refs (resets VmHWM to the current RSS), read VmRSS, run the call, read VmHWM. The difference is the
/// most memory the call held at once beyond what was resident before, libtorch allocations included (which
/// BenchmarkDotNet's MemoryDiagnoser does not see). Results go to a file that <see cref="PeakNativeMemoryColumn"/> reads
/// in the host process, and to the benchmark's output.
/// </summary>
/// <remarks>
/// glibc serves allocations below its (adaptive, up to 32 MiB) mmap threshold from the heap and keeps freed heap memory
/// resident, so a later call could reuse it without raising RSS. <see cref="BeginExactAccounting"/> fixes the threshold
/// at 128 KiB so every tensor-sized block is mapped on allocation and unmapped on free: RSS then follows the live native
/// memory. That costs page faults on every allocation, so <see cref="EndExactAccounting"/> sets the thresholds that
/// glibc's adaptive rule reaches at its maximum (mmap 32 MiB, trim 64 MiB) before anything is timed.
/// </remarks>
internal static class PeakNativeMemory
{
    private const string ClearRefs = "/proc/self/clear_refs";
    private const int MallocTrimThreshold = -1; // M_TRIM_THRESHOLD in glibc's malloc.h
    private const int MallocMmapThreshold = -3; // M_MMAP_THRESHOLD

    /// <summary>Gets the file the benchmark processes append their measurements to (one line per measurement, latest wins).</summary>
    public static string ResultsFile { get; } = Path.Combine(Path.GetTempPath(), "vepa-benchmarks", "peak-native-memory.tsv");

    /// <summary>Makes glibc map every allocation of 128 KiB or more on its own and return it on free (Linux only).</summary>
    public static void BeginExactAccounting() => SetThresholds(mmap: 128 * 1024, trim: 128 * 1024);

    /// <summary>Sets glibc's thresholds to their adaptive maximum (mmap 32 MiB, trim 64 MiB) for the timed runs (Linux only).</summary>
    public static void EndExactAccounting() => SetThresholds(mmap: 32 * 1024 * 1024, trim: 64 * 1024 * 1024);

    /// <summary>Returns the peak extra resident bytes while <paramref name="action"/> runs, or <see langword="null"/> where the counters are unavailable.</summary>
    public static long? Measure(Action action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        if (OperatingSystem.IsLinux())
        {
            _ = MallocTrim(0);
        }

        if (!TryReset())
        {
            action();
            return null;
        }

        long? before = ReadStatusKiB("VmRSS");
        action();
        long? peak = ReadStatusKiB("VmHWM");
        return before is long b && peak is long p ? (p - b) * 1024 : null;
    }

    /// <summary>Appends one measurement and prints it.</summary>
    public static void Record(string suite, string method, string shape, long? forwardBytes, long? trainingBytes)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(ResultsFile)!);
        string line = string.Join('\t', DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture), suite, method, shape,
            forwardBytes?.ToString(CultureInfo.InvariantCulture) ?? "", trainingBytes?.ToString(CultureInfo.InvariantCulture) ?? "");
        File.AppendAllLines(ResultsFile, [line]);
        Console.WriteLine(
            $"// Peak extra native memory: {suite}.{method} [{shape}]: forward {Format(forwardBytes)}, forward+backward {Format(trainingBytes)}");
    }

    /// <summary>Returns the latest measurement of a benchmark case, if any.</summary>
    /// <summary>
    /// After a warm-up step, measures the peak extra memory of one forward call under <c>no_grad</c> and of one
    /// forward+backward step, records both, and restores the allocator's normal thresholds.
    /// </summary>
    /// <param name="suite">The benchmark class.</param>
    /// <param name="method">The benchmark method.</param>
    /// <param name="shape">The parameter value, as text.</param>
    /// <param name="forward">One forward call.</param>
    /// <param name="train">One forward+backward step.</param>
    public static void MeasureAndRecord(string suite, string method, string shape, Func<TorchSharp.torch.Tensor> forward, Action train)
    {
        train(); // warm-up: lazily initialised kernels and thread pools are not counted
        long? forwardOnly = Measure(() =>
        {
            using var scope = TorchSharp.torch.NewDisposeScope();
            using var noGrad = TorchSharp.torch.no_grad();
            forward();
        });
        long? training = Measure(train);
        EndExactAccounting();
        Record(suite, method, shape, forwardOnly, training);
    }

    public static (long? Forward, long? Training)? Lookup(string suite, string method, string shape)
    {
        if (!File.Exists(ResultsFile))
        {
            return null;
        }

        (long Ticks, long? Forward, long? Training)? latest = null;
        foreach (string line in File.ReadLines(ResultsFile))
        {
            string[] f = line.Split('\t');
            if (f.Length == 6 && f[1] == suite && f[2] == method && f[3] == shape
                && long.TryParse(f[0], CultureInfo.InvariantCulture, out long ticks) && (latest is null || ticks >= latest.Value.Ticks))
            {
                latest = (ticks, Parse(f[4]), Parse(f[5]));
            }
        }

        return latest is { } l ? (l.Forward, l.Training) : null;
    }

    /// <summary>Formats bytes as MiB.</summary>
    public static string Format(long? bytes)
        => bytes is long b ? (b / (1024.0 * 1024.0)).ToString("N1", CultureInfo.InvariantCulture) + " MiB" : "n/a";

    private static long? Parse(string s) => long.TryParse(s, CultureInfo.InvariantCulture, out long v) ? v : null;

    private static bool TryReset()
    {
        try
        {
            if (!OperatingSystem.IsLinux() || !File.Exists(ClearRefs))
            {
                return false;
            }

            File.WriteAllText(ClearRefs, "5");
            return true;
        }
        catch (IOException)
        {
            return false;
        }
        catch (UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static long? ReadStatusKiB(string field)
    {
        foreach (string line in File.ReadLines("/proc/self/status"))
        {
            if (line.StartsWith(field + ":", StringComparison.Ordinal))
            {
                string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                return long.Parse(parts[1], CultureInfo.InvariantCulture);
            }
        }

        return null;
    }

    private static void SetThresholds(int mmap, int trim)
    {
        if (OperatingSystem.IsLinux())
        {
            _ = MallOpt(MallocMmapThreshold, mmap);
            _ = MallOpt(MallocTrimThreshold, trim);
        }
    }

    [DllImport("libc", EntryPoint = "malloc_trim")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallocTrim(nuint pad);

    [DllImport("libc", EntryPoint = "mallopt")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int MallOpt(int parameter, int value);
}
