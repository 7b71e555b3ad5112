using System.Diagnostics;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// The PyTorch eager peer (qwen_peer.py, run by Debian's /usr/bin/python3 with python3-torch): a child process that builds the
/// same layer stack and runs one operation per request, so a [Benchmark] method times it in the same BenchmarkDotNet run.
/// A request is one line over a pipe (tens of microseconds against operations of 0.1 s and more).
/// </summary>
internal sealed class PyTorchPeer : IDisposable
{
    private readonly Process _process;

    internal PyTorchPeer(int batch, int length)
    {
        string python = Environment.GetEnvironmentVariable("VEPA_PYTHON") ?? "/usr/bin/python3";
        string script = Path.Combine(FindRepositoryRoot(), "benchmarks", "Vepa.Benchmarks", "Models", "qwen_peer.py");
        var start = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        // Debian's python3-torch does its matrix products through the system BLAS (BLAS_INFO=generic): install an optimised one
        // (apt-get install libopenblas0-pthread; the reference netlib BLAS is ~40x slower) and give it the same thread count.
        string threads = QwenBenchmarkShape.Threads.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.Environment["OPENBLAS_NUM_THREADS"] = threads;
        start.Environment["OMP_NUM_THREADS"] = threads;
        start.ArgumentList.Add(script);
        foreach (int a in new[]
        {
            QwenBenchmarkShape.Hidden, QwenBenchmarkShape.Heads, QwenBenchmarkShape.KeyValueHeads, QwenBenchmarkShape.Intermediate,
            QwenBenchmarkShape.Vocabulary, QwenBenchmarkShape.Layers, batch, length, QwenBenchmarkShape.Threads,
        })
        {
            start.ArgumentList.Add(a.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {python} {script}.");
        string? ready = _process.StandardOutput.ReadLine();
        if (ready != "ready")
        {
            throw new InvalidOperationException($"The PyTorch peer ({python} {script}) did not start: '{ready}'. Install python3-torch (apt-get install python3-torch).");
        }
    }

    /// <summary>Runs one operation (<c>forward</c> or <c>forward_backward</c>) in the peer and waits for it.</summary>
    internal void Run(string operation)
    {
        _process.StandardInput.WriteLine(operation);
        _process.StandardInput.Flush();
        string? reply = _process.StandardOutput.ReadLine();
        if (reply != "ok")
        {
            throw new InvalidOperationException($"The PyTorch peer answered '{reply}' to '{operation}'.");
        }
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.WriteLine("quit");
            _process.StandardInput.Flush();
            _process.WaitForExit(10_000);
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Vepa.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"No Vepa.sln above {AppContext.BaseDirectory}: run the benchmark from the repository.");
    }
}
