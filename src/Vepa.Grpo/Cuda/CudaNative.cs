using System.Reflection;
using System.Runtime.InteropServices;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// The CUDA driver API (libcuda), NVRTC and TorchSharp's <c>THSTensor_data</c>, as P/Invoke signatures. The library names
/// are logical: <see cref="Resolve"/> maps them to files (the driver's libcuda.so.1 / nvcuda.dll; NVRTC from
/// <c>VEPA_NVRTC_PATH</c>, the usual file names, or the folders of LibTorch and of the pip-installed CUDA runtime).
/// </summary>
internal static unsafe partial class CudaNative
{
    public const string Driver = "vepa-cuda-driver";
    public const string Nvrtc = "vepa-nvrtc";
    public const string TorchSharpNative = "vepa-libtorchsharp";

    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR.</summary>
    public const int AttributeComputeCapabilityMajor = 75;

    /// <summary>CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR.</summary>
    public const int AttributeComputeCapabilityMinor = 76;

    /// <summary>CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT.</summary>
    public const int AttributeMultiprocessorCount = 16;

    private static int _resolverInstalled;

    /// <summary>Gets the NVRTC file that was loaded, once it was.</summary>
    public static string? NvrtcPath { get; private set; }

    /// <summary>Installs the resolver of the logical library names (once per process).</summary>
    public static void InstallResolver()
    {
        if (Interlocked.Exchange(ref _resolverInstalled, 1) == 0)
        {
            NativeLibrary.SetDllImportResolver(typeof(CudaNative).Assembly, Resolve);
        }
    }

    [LibraryImport(Driver)]
    public static partial int cuInit(uint flags);

    [LibraryImport(Driver)]
    public static partial int cuDriverGetVersion(out int version);

    [LibraryImport(Driver)]
    public static partial int cuDeviceGet(out int device, int ordinal);

    [LibraryImport(Driver)]
    public static partial int cuDeviceGetAttribute(out int value, int attribute, int device);

    [LibraryImport(Driver, EntryPoint = "cuDevicePrimaryCtxRetain")]
    public static partial int cuDevicePrimaryCtxRetain(out IntPtr context, int device);

    [LibraryImport(Driver)]
    public static partial int cuCtxSetCurrent(IntPtr context);

    [LibraryImport(Driver, EntryPoint = "cuCtxSynchronize")]
    public static partial int cuCtxSynchronize();

    [LibraryImport(Driver)]
    public static partial int cuModuleLoadData(out IntPtr module, byte* image);

    [LibraryImport(Driver, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int cuModuleGetFunction(out IntPtr function, IntPtr module, string name);

    [LibraryImport(Driver)]
    public static partial int cuLaunchKernel(
        IntPtr function, uint gridX, uint gridY, uint gridZ, uint blockX, uint blockY, uint blockZ,
        uint sharedBytes, IntPtr stream, IntPtr* parameters, IntPtr extra);

    [LibraryImport(Driver, EntryPoint = "cuMemGetInfo_v2")]
    public static partial int cuMemGetInfo(out nuint free, out nuint total);

    [LibraryImport(Driver)]
    public static partial int cuGetErrorString(int error, out IntPtr text);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcVersion(out int major, out int minor);

    [LibraryImport(Nvrtc, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int nvrtcCreateProgram(out IntPtr program, string source, string name, int headerCount, IntPtr headers, IntPtr includeNames);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcCompileProgram(IntPtr program, int optionCount, IntPtr* options);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcGetCUBINSize(IntPtr program, out nuint size);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcGetCUBIN(IntPtr program, byte* cubin);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcGetProgramLogSize(IntPtr program, out nuint size);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcGetProgramLog(IntPtr program, byte* log);

    [LibraryImport(Nvrtc)]
    public static partial int nvrtcDestroyProgram(ref IntPtr program);

    [LibraryImport(Nvrtc)]
    public static partial IntPtr nvrtcGetErrorString(int result);

    [LibraryImport(TorchSharpNative)]
    public static partial IntPtr THSTensor_data(IntPtr tensor);

    /// <summary>The driver's name for an error code.</summary>
    public static string DriverError(int code)
    {
        try
        {
            return cuGetErrorString(code, out IntPtr text) == 0 && text != IntPtr.Zero ? $"{Marshal.PtrToStringUTF8(text)} ({code})" : $"CUDA error {code}";
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return $"CUDA error {code}";
        }
    }

    /// <summary>NVRTC's name for an error code.</summary>
    public static string NvrtcError(int code) => $"{Marshal.PtrToStringUTF8(nvrtcGetErrorString(code))} ({code})";

    /// <summary>Throws <see cref="CudaException"/> for a failed driver call.</summary>
    public static void Check(int code, string what)
    {
        if (code != 0)
        {
            throw new CudaException($"{what} failed: {DriverError(code)}");
        }
    }

    /// <summary>The NVRTC candidates, most specific first.</summary>
    internal static IEnumerable<string> NvrtcCandidates()
    {
        string? explicitPath = Environment.GetEnvironmentVariable("VEPA_NVRTC_PATH");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            yield return explicitPath;
        }

        if (OperatingSystem.IsWindows())
        {
            foreach (string name in new[] { "nvrtc64_130_0.dll", "nvrtc64_120_0.dll", "nvrtc64_112_0.dll" })
            {
                yield return name;
            }

            yield break;
        }

        foreach (string name in new[] { "libnvrtc.so.13", "libnvrtc.so.12", "libnvrtc.so.11.2", "libnvrtc.so" })
        {
            yield return name;
        }

        // LibTorch's bundled copy (libnvrtc-<hash>.so.*) and pip's nvidia packages next to torch/lib.
        var folders = (Environment.GetEnvironmentVariable("LD_LIBRARY_PATH") ?? string.Empty)
            .Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Append(AppContext.BaseDirectory);
        foreach (string folder in folders.Where(Directory.Exists))
        {
            foreach (string file in SafeFiles(folder, "libnvrtc*.so*").Where(f => !f.Contains("builtins", StringComparison.Ordinal)))
            {
                yield return file;
            }

            string nvidia = Path.GetFullPath(Path.Combine(folder, "..", "..", "nvidia"));
            if (Directory.Exists(nvidia))
            {
                foreach (string lib in SafeDirectories(nvidia))
                {
                    foreach (string file in SafeFiles(Path.Combine(lib, "lib"), "libnvrtc.so*").Where(f => !f.Contains("builtins", StringComparison.Ordinal)))
                    {
                        yield return file;
                    }
                }
            }
        }
    }

    private static IEnumerable<string> SafeFiles(string folder, string pattern)
    {
        try
        {
            return Directory.Exists(folder) ? Directory.GetFiles(folder, pattern).Order(StringComparer.Ordinal).ToArray() : [];
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    private static IEnumerable<string> SafeDirectories(string folder)
    {
        try
        {
            return Directory.GetDirectories(folder).Order(StringComparer.Ordinal).ToArray();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }

    /// <summary>Tells whether TorchSharp's native library is loaded and exports <c>THSTensor_data</c>.</summary>
    public static bool TorchSharpExportsTensorData(out string? why)
    {
        IntPtr handle = LoadTorchSharp();
        if (handle == IntPtr.Zero)
        {
            why = "libLibTorchSharp is not loaded";
            return false;
        }

        why = NativeLibrary.TryGetExport(handle, "THSTensor_data", out _) ? null : "it has no export THSTensor_data";
        return why is null;
    }

    private static IntPtr LoadTorchSharp()
    {
        foreach (string file in OperatingSystem.IsWindows() ? new[] { "LibTorchSharp.dll" } : new[] { "libLibTorchSharp.so", "LibTorchSharp" })
        {
            if (NativeLibrary.TryLoad(file, out IntPtr handle) || NativeLibrary.TryLoad(file, typeof(TorchSharp.torch).Assembly, null, out handle))
            {
                return handle;
            }
        }

        return IntPtr.Zero;
    }

    private static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? path)
    {
        switch (name)
        {
            case Driver:
                foreach (string file in OperatingSystem.IsWindows() ? new[] { "nvcuda.dll" } : new[] { "libcuda.so.1", "libcuda.so" })
                {
                    if (NativeLibrary.TryLoad(file, out IntPtr handle))
                    {
                        return handle;
                    }
                }

                return IntPtr.Zero;
            case Nvrtc:
                foreach (string file in NvrtcCandidates())
                {
                    if (NativeLibrary.TryLoad(file, out IntPtr handle))
                    {
                        NvrtcPath = file;
                        return handle;
                    }
                }

                return IntPtr.Zero;
            case TorchSharpNative:
                return LoadTorchSharp();
            default:
                return IntPtr.Zero;
        }
    }
}
