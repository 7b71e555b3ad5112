using System.Collections.Concurrent;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.RegularExpressions;
using Vepa.Grpo.Cuda;

namespace Vepa.Grpo.Tests.Cuda;

/// <summary>
/// Runs the embedded CUDA kernel sources on the CPU: each (file, defines) translation unit is compiled by the host C++
/// compiler with <c>cuda_emulator.h</c> in front (fibers for threads, barriers for the warp and block primitives) into a
/// shared library whose <c>emu_&lt;kernel&gt;</c> entries take the same parameter table as <c>cuLaunchKernel</c>.
/// Installed as <see cref="CudaRuntime.Emulator"/>, it lets the gate check the kernels' arithmetic and the host glue
/// (argument order, layouts, autograd) on machines without a GPU. It proves nothing about NVRTC, the driver or speed.
/// </summary>
internal sealed partial class CudaCpuEmulator : ICudaEmulator
{
    private readonly string _folder = Path.Combine(Path.GetTempPath(), "vepa-cuda-emulator-" + Environment.ProcessId);
    private readonly ConcurrentDictionary<string, Lazy<IntPtr>> _libraries = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<IntPtr, Launcher> _launchers = new();

    [UnmanagedFunctionPointer(CallingConvention.Cdecl)]
    private delegate void Launcher(uint grid, uint block, IntPtr parameters);

    /// <summary>The host C++ compiler, or <see langword="null"/> when there is none on the PATH.</summary>
    public static string? Compiler { get; } = FindCompiler();

    public IntPtr Function(string file, string kernel, string[] defines)
    {
        string key = file + "|" + string.Join("|", defines);
        IntPtr library = _libraries.GetOrAdd(key, _ => new Lazy<IntPtr>(() => Build(file, defines))).Value;
        return NativeLibrary.GetExport(library, "emu_" + kernel);
    }

    /// <summary>Gets the block size the emulator compiles the kernels for: two warps, so every cross-warp and in-warp
    /// reduction path runs with a quarter of a GPU block's fiber switches.</summary>
    public int ThreadsPerBlock => 64;

    public void Launch(IntPtr function, long gridX, int blockX, IntPtr parameters)
    {
        if (blockX != ThreadsPerBlock)
        {
            throw new InvalidOperationException($"A launch of {blockX} threads per block; the emulator's kernels are compiled for {ThreadsPerBlock}.");
        }

        var launcher = _launchers.GetOrAdd(function, f => Marshal.GetDelegateForFunctionPointer<Launcher>(f));
        launcher((uint)gridX, (uint)blockX, parameters);
    }

    private static string? FindCompiler()
    {
        if (!OperatingSystem.IsLinux())
        {
            return null;
        }

        foreach (string folder in (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            string candidate = Path.Combine(folder, "g++");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    [GeneratedRegex(@"extern ""C"" __global__ void __launch_bounds__\(VEPA_THREADS\) (\w+)\(")]
    private static partial Regex KernelName();

    private IntPtr Build(string file, string[] defines)
    {
        if (Compiler is null)
        {
            throw new InvalidOperationException("No C++ compiler (g++) on the PATH for the CUDA CPU emulator.");
        }

        string header;
        using (var stream = typeof(CudaCpuEmulator).Assembly.GetManifestResourceStream("Vepa.Grpo.Tests.cuda_emulator.h")!)
        using (var reader = new StreamReader(stream))
        {
            header = reader.ReadToEnd();
        }

        string unit = CudaSources.TranslationUnit(file);
        var source = new StringBuilder();

        source.Append("#define VEPA_THREADS ").AppendLine(ThreadsPerBlock.ToString(System.Globalization.CultureInfo.InvariantCulture));
        foreach (string define in defines)
        {
            var parts = define.Split('=', 2);
            source.Append("#define ").Append(parts[0]).Append(' ').AppendLine(parts.Length > 1 ? parts[1] : "1");
        }

        source.AppendLine(header).AppendLine(unit);
        foreach (Match m in KernelName().Matches(unit))
        {
            source.Append("VEPA_EMU_EXPORT(").Append(m.Groups[1].Value).AppendLine(")");
        }

        Directory.CreateDirectory(_folder);
        string name = Path.GetFileNameWithoutExtension(file) + "-" + string.Join("-", defines.Select(d => d.Replace('=', '_')));
        string cpp = Path.Combine(_folder, name + ".cpp");
        string library = Path.Combine(_folder, name + ".so");
        File.WriteAllText(cpp, source.ToString());
        var start = new ProcessStartInfo(Compiler, ["-std=c++17", "-O1", "-shared", "-fPIC", "-fvisibility=hidden", "-o", library, cpp])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        using var process = Process.Start(start)!;
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"The emulator could not compile {name}: {errors}");
        }

        return NativeLibrary.Load(library);
    }
}
