using System.Collections.Concurrent;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text;
using TorchSharp;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// The CUDA runtime layer of the fused kernels: the driver API and NVRTC loaded by file name, kernels compiled from the
/// embedded sources to CUBIN for the device's architecture (cached on disk by source hash, architecture and dtype), loaded
/// into the device's primary context (LibTorch's), and launched on the legacy default stream 0, which LibTorch uses, so
/// they are ordered with LibTorch's own work without extra synchronisation.
/// </summary>
/// <remarks>Thread-safe. The first use per process probes the driver and NVRTC; a failure makes <see cref="IsAvailable"/>
/// false with its reason, and the callers fall back to the tensor kernels.</remarks>
internal sealed unsafe class CudaRuntime
{
    private static readonly Lazy<CudaRuntime> Shared = new(() => new CudaRuntime(new CudaCubinCache(CudaCubinCache.DefaultFolder())));
    private readonly ConcurrentDictionary<int, Lazy<DeviceState>> _devices = new();
    private readonly Lazy<string?> _probe;
    private readonly Lazy<string?> _nvrtcProbe;

    /// <summary>Initializes a new instance of the <see cref="CudaRuntime"/> class (the process uses <see cref="Instance"/>;
    /// tests make their own to compile into a cache folder of their choice).</summary>
    internal CudaRuntime(CudaCubinCache cache)
    {
        Cache = cache;
        _probe = new Lazy<string?>(Probe);
        _nvrtcProbe = new Lazy<string?>(ProbeNvrtc);
    }

    /// <summary>Gets or sets a CPU emulator that replaces the driver and NVRTC (tests only): the kernels then run on CPU tensors.</summary>
    internal static ICudaEmulator? Emulator { get; set; }

    /// <summary>Gets the process-wide runtime.</summary>
    public static CudaRuntime Instance => Shared.Value;

    /// <summary>Gets the CUBIN cache.</summary>
    public CudaCubinCache Cache { get; }

    /// <summary>Gets the NVRTC version, e.g. "13.0", once probed.</summary>
    public string? NvrtcVersion { get; private set; }

    /// <summary>Gets the driver's CUDA version, e.g. "13.0", once probed.</summary>
    public string? DriverVersion { get; private set; }

    /// <summary>Gets the number of compilations (cache misses) so far.</summary>
    public int Compilations => _compilations;

    /// <summary>Gets the number of CUBIN images read from the disk cache so far.</summary>
    public int CacheHits => _cacheHits;

    /// <summary>Gets the number of kernel launches so far.</summary>
    public long Launches => Interlocked.Read(ref _launches);

    private int _compilations;
    private int _cacheHits;
    private long _launches;

    /// <summary>Tells whether CUDA kernels can run: TorchSharp sees a CUDA device, and the driver and NVRTC load.</summary>
    /// <param name="reason">Why not, or <see langword="null"/>.</param>
    public bool IsAvailable(out string? reason)
    {
        if (Emulator is not null)
        {
            reason = null;
            return true;
        }

        reason = _probe.Value;
        return reason is null;
    }

    /// <summary>Gets a kernel function on a device, compiling (or reading the cache) and loading its module on first use.</summary>
    /// <param name="deviceIndex">The CUDA device ordinal (the tensor's device index).</param>
    /// <param name="file">The source file (<see cref="CudaSources"/>).</param>
    /// <param name="kernel">The <c>extern "C"</c> kernel name.</param>
    /// <param name="defines">Preprocessor defines, e.g. "VEPA_SCALAR=1".</param>
    /// <returns>The CUfunction.</returns>
    /// <exception cref="CudaException">Compilation, loading or lookup failed (the message carries NVRTC's log).</exception>
    public IntPtr Function(int deviceIndex, string file, string kernel, params string[] defines)
    {
        if (Emulator is { } emulator)
        {
            return emulator.Function(file, kernel, defines);
        }

        var device = Device(deviceIndex);
        string moduleKey = file + "|" + string.Join("|", defines);
        IntPtr module = device.Modules.GetOrAdd(moduleKey, _ => new Lazy<IntPtr>(() => LoadModule(device, file, defines))).Value;
        return device.Functions.GetOrAdd(moduleKey + "|" + kernel, _ =>
        {
            SetCurrent(device);
            CudaNative.Check(CudaNative.cuModuleGetFunction(out IntPtr function, module, kernel), $"cuModuleGetFunction({kernel})");
            return function;
        });
    }

    /// <summary>The device's free and total memory (cuMemGetInfo); LibTorch's caching allocator holds what it reserved.</summary>
    public (long Free, long Total) MemoryInfo(int deviceIndex)
    {
        SetCurrent(Device(deviceIndex));
        CudaNative.Check(CudaNative.cuMemGetInfo(out nuint free, out nuint total), "cuMemGetInfo");
        return ((long)free, (long)total);
    }

    /// <summary>Gets the number of multiprocessors of a device.</summary>
    public int MultiprocessorCount(int deviceIndex) => Emulator is null ? Device(deviceIndex).Multiprocessors : 4;

    /// <summary>Gets the block size the kernels are compiled for (<c>VEPA_THREADS</c> in common.cuh: 256; the emulator's own).</summary>
    public int ThreadsPerBlock => Emulator?.ThreadsPerBlock ?? 256;

    /// <summary>Tells whether tensors of this device type can go to the kernels: CUDA, or the CPU under the emulator.</summary>
    public static bool IsKernelDevice(DeviceType type) => type == DeviceType.CUDA || (Emulator is not null && type == DeviceType.CPU);

    /// <summary>Gets the architecture of a device, e.g. "sm_90".</summary>
    public string Architecture(int deviceIndex) => Device(deviceIndex).Architecture;

    /// <summary>Launches a kernel on stream 0 of its device's primary context; the arguments' tensors must stay alive until this returns.</summary>
    /// <exception cref="CudaException">The launch was rejected (a bad configuration or a sticky error from earlier work).</exception>
    public void Launch(int deviceIndex, IntPtr function, long gridX, int blockX, CudaArguments arguments)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        if (gridX <= 0)
        {
            return;
        }

        if (gridX > int.MaxValue)
        {
            throw new CudaException($"A grid of {gridX} blocks exceeds the limit of {int.MaxValue}.");
        }

        if (Emulator is { } emulator)
        {
            arguments.Materialise(out IntPtr table);
            Interlocked.Increment(ref _launches);
            emulator.Launch(function, gridX, blockX, table);
            return;
        }

        var device = Device(deviceIndex);
        SetCurrent(device);
        arguments.Materialise(out IntPtr pointers);
        int code = CudaNative.cuLaunchKernel(function, (uint)gridX, 1, 1, (uint)blockX, 1, 1, 0, IntPtr.Zero, (IntPtr*)pointers, IntPtr.Zero);
        Interlocked.Increment(ref _launches);
        CudaNative.Check(code, "cuLaunchKernel");
        if (Environment.GetEnvironmentVariable("VEPA_CUDA_SYNC") == "1")
        {
            CudaNative.Check(CudaNative.cuCtxSynchronize(), "kernel execution (cuCtxSynchronize)");
        }
    }

    private static void SetCurrent(DeviceState device) => CudaNative.Check(CudaNative.cuCtxSetCurrent(device.Context), "cuCtxSetCurrent");

    private DeviceState Device(int deviceIndex)
    {
        if (!IsAvailable(out string? reason))
        {
            throw new CudaException("CUDA kernels are unavailable: " + reason);
        }

        return _devices.GetOrAdd(deviceIndex, i => new Lazy<DeviceState>(() => OpenDevice(i))).Value;
    }

    private static DeviceState OpenDevice(int ordinal)
    {
        CudaNative.Check(CudaNative.cuDeviceGet(out int device, ordinal), $"cuDeviceGet({ordinal})");
        CudaNative.Check(CudaNative.cuDeviceGetAttribute(out int major, CudaNative.AttributeComputeCapabilityMajor, device), "cuDeviceGetAttribute(major)");
        CudaNative.Check(CudaNative.cuDeviceGetAttribute(out int minor, CudaNative.AttributeComputeCapabilityMinor, device), "cuDeviceGetAttribute(minor)");
        CudaNative.Check(CudaNative.cuDeviceGetAttribute(out int sms, CudaNative.AttributeMultiprocessorCount, device), "cuDeviceGetAttribute(multiprocessors)");

        // The primary context is the one the CUDA runtime (and so LibTorch) uses on this device; retained once, never released.
        CudaNative.Check(CudaNative.cuDevicePrimaryCtxRetain(out IntPtr context, device), "cuDevicePrimaryCtxRetain");
        return new DeviceState(context, string.Create(CultureInfo.InvariantCulture, $"sm_{major}{minor}"), sms);
    }

    /// <summary>Tells whether NVRTC loads (compilation needs no GPU).</summary>
    /// <param name="reason">Why not, or <see langword="null"/>.</param>
    public bool IsNvrtcAvailable(out string? reason)
    {
        reason = _nvrtcProbe.Value;
        return reason is null;
    }

    /// <summary>The CUBIN of a module for an architecture: from the disk cache, or compiled by NVRTC and then cached.</summary>
    /// <param name="file">The source file (<see cref="CudaSources"/>).</param>
    /// <param name="architecture">The architecture, e.g. "sm_90".</param>
    /// <param name="defines">Preprocessor defines, e.g. "VEPA_SCALAR=1".</param>
    /// <exception cref="CudaException">NVRTC is missing or the compilation failed (with NVRTC's log).</exception>
    public byte[] Cubin(string file, string architecture, string[] defines)
    {
        if (!IsNvrtcAvailable(out string? reason))
        {
            throw new CudaException("NVRTC is unavailable: " + reason);
        }

        string source = CudaSources.TranslationUnit(file);
        var options = new List<string> { "--gpu-architecture=" + architecture, "--std=c++17" };
        options.AddRange(defines.Select(d => "-D" + d));
        string key = CudaSources.CacheKey(source, options, "nvrtc " + NvrtcVersion);
        string label = Path.GetFileNameWithoutExtension(file).Replace('.', '_') + "-" + string.Join("-", defines.Select(d => d.Replace("VEPA_", string.Empty, StringComparison.Ordinal).Replace('=', '_')));
        byte[]? image = Cache.TryLoad(label, architecture, key);
        if (image is not null)
        {
            Interlocked.Increment(ref _cacheHits);
            return image;
        }

        image = Compile(source, file, options);
        Interlocked.Increment(ref _compilations);
        Cache.TryStore(label, architecture, key, image);
        return image;
    }

    private IntPtr LoadModule(DeviceState device, string file, string[] defines)
    {
        byte[] image = Cubin(file, device.Architecture, defines);
        SetCurrent(device);
        fixed (byte* p = image)
        {
            CudaNative.Check(CudaNative.cuModuleLoadData(out IntPtr module, p), $"cuModuleLoadData({file}, {device.Architecture})");
            return module;
        }
    }

    /// <summary>Compiles one translation unit to CUBIN with NVRTC.</summary>
    /// <exception cref="CudaException">The compilation failed; the message carries the options and NVRTC's log.</exception>
    internal static byte[] Compile(string source, string file, List<string> options)
    {
        CheckNvrtc(CudaNative.nvrtcCreateProgram(out IntPtr program, source, file, 0, IntPtr.Zero, IntPtr.Zero), "nvrtcCreateProgram");
        var handles = options.Select(Marshal.StringToCoTaskMemUTF8).ToArray();
        try
        {
            int result;
            fixed (IntPtr* p = handles)
            {
                result = CudaNative.nvrtcCompileProgram(program, handles.Length, p);
            }

            if (result != 0)
            {
                throw new CudaException($"NVRTC could not compile {file} ({string.Join(' ', options)}): {CudaNative.NvrtcError(result)}\n{Log(program)}");
            }

            CheckNvrtc(CudaNative.nvrtcGetCUBINSize(program, out nuint size), "nvrtcGetCUBINSize");
            var image = new byte[(int)size];
            fixed (byte* p = image)
            {
                CheckNvrtc(CudaNative.nvrtcGetCUBIN(program, p), "nvrtcGetCUBIN");
            }

            return image;
        }
        finally
        {
            foreach (IntPtr h in handles)
            {
                Marshal.FreeCoTaskMem(h);
            }

            CudaNative.nvrtcDestroyProgram(ref program);
        }
    }

    private static string Log(IntPtr program)
    {
        if (CudaNative.nvrtcGetProgramLogSize(program, out nuint size) != 0 || size <= 1)
        {
            return string.Empty;
        }

        var log = new byte[(int)size];
        fixed (byte* p = log)
        {
            CudaNative.nvrtcGetProgramLog(program, p);
        }

        return Encoding.UTF8.GetString(log, 0, log.Length - 1);
    }

    private static void CheckNvrtc(int code, string what)
    {
        if (code != 0)
        {
            throw new CudaException($"{what} failed: {CudaNative.NvrtcError(code)}");
        }
    }

    private string? Probe()
    {
        try
        {
            if (!torch.cuda.is_available())
            {
                return "TorchSharp sees no CUDA device (torch.cuda.is_available() is false)";
            }
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException or InvalidOperationException or EntryPointNotFoundException)
        {
            return "TorchSharp's CUDA backend did not load: " + e.Message;
        }

        CudaNative.InstallResolver();
        try
        {
            int init = CudaNative.cuInit(0);
            if (init != 0)
            {
                return "cuInit failed: " + CudaNative.DriverError(init);
            }

            CudaNative.cuDriverGetVersion(out int driver);
            DriverVersion = string.Create(CultureInfo.InvariantCulture, $"{driver / 1000}.{driver % 1000 / 10}");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "the CUDA driver library (libcuda.so.1 / nvcuda.dll) did not load: " + e.Message;
        }

        string? nvrtc = _nvrtcProbe.Value;
        if (nvrtc is not null)
        {
            return nvrtc;
        }

        if (!CudaNative.TorchSharpExportsTensorData(out string? why))
        {
            return "TorchSharp's native library could not be bound for THSTensor_data: " + why;
        }

        return null;
    }

    private string? ProbeNvrtc()
    {
        CudaNative.InstallResolver();
        try
        {
            int code = CudaNative.nvrtcVersion(out int major, out int minor);
            if (code != 0)
            {
                return "nvrtcVersion failed: " + code.ToString(CultureInfo.InvariantCulture);
            }

            NvrtcVersion = string.Create(CultureInfo.InvariantCulture, $"{major}.{minor}");
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return "NVRTC did not load (set VEPA_NVRTC_PATH to libnvrtc.so.* / nvrtc64_*.dll; tried "
                + string.Join(", ", CudaNative.NvrtcCandidates().Take(8)) + "): " + e.Message;
        }

        return null;
    }

    private sealed class DeviceState(IntPtr context, string architecture, int multiprocessors)
    {
        public IntPtr Context { get; } = context;

        public string Architecture { get; } = architecture;

        public int Multiprocessors { get; } = multiprocessors;

        public ConcurrentDictionary<string, Lazy<IntPtr>> Modules { get; } = new();

        public ConcurrentDictionary<string, IntPtr> Functions { get; } = new();
    }
}
