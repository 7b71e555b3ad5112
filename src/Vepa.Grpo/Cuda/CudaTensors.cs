using TorchSharp;

namespace Vepa.Grpo.Cuda;

/// <summary>Device pointers of tensors for a kernel launch, after checking device, dtype and contiguity.</summary>
internal static class CudaTensors
{
    /// <summary>The data pointer of a contiguous CUDA tensor (the storage offset included).</summary>
    /// <param name="tensor">The tensor.</param>
    /// <param name="name">The argument's name, for the error message.</param>
    /// <param name="dtype">The dtype the kernel was compiled for.</param>
    /// <param name="deviceIndex">The device the kernel runs on.</param>
    /// <exception cref="ArgumentException">The tensor is not on that CUDA device, has another dtype, or is not contiguous.</exception>
    public static IntPtr Pointer(torch.Tensor tensor, string name, torch.ScalarType dtype, int deviceIndex)
    {
        Check(tensor, name, dtype, deviceIndex);
        CudaNative.InstallResolver();
        return CudaNative.THSTensor_data(tensor.Handle);
    }

    /// <summary>The data pointer of an optional tensor, or 0.</summary>
    public static IntPtr PointerOrZero(torch.Tensor? tensor, string name, torch.ScalarType dtype, int deviceIndex)
        => tensor is null ? IntPtr.Zero : Pointer(tensor, name, dtype, deviceIndex);

    /// <summary>Checks that a tensor can be handed to a kernel compiled for <paramref name="dtype"/> on device <paramref name="deviceIndex"/>.</summary>
    /// <exception cref="ArgumentException">The tensor is not on that CUDA device, has another dtype, or is not contiguous.</exception>
    public static void Check(torch.Tensor tensor, string name, torch.ScalarType dtype, int deviceIndex)
    {
        ArgumentNullException.ThrowIfNull(tensor, name);
        if (tensor.dtype != dtype)
        {
            throw new ArgumentException($"{name} has dtype {tensor.dtype}; the kernel was compiled for {dtype}.", name);
        }

        if (!tensor.is_contiguous())
        {
            throw new ArgumentException($"{name} must be contiguous (shape [{string.Join(", ", tensor.shape)}], strides [{string.Join(", ", tensor.stride())}]).", name);
        }

        if (!CudaRuntime.IsKernelDevice(tensor.device_type))
        {
            throw new ArgumentException($"{name} must be a CUDA tensor for a CUDA kernel; it is on {tensor.device}.", name);
        }

        if (tensor.device_index != deviceIndex)
        {
            throw new ArgumentException($"{name} is on cuda:{tensor.device_index}, but the kernel runs on cuda:{deviceIndex}.", name);
        }
    }
}
