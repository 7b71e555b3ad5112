using System.Runtime.InteropServices;

namespace Vepa.Grpo.Cuda;

/// <summary>
/// Kernel parameters for <c>cuLaunchKernel</c>: each value is copied into one unmanaged block, and the pointer array points
/// at the copies, in the order of the kernel's signature. Dispose after the launch call (the driver copies the values).
/// </summary>
internal sealed unsafe class CudaArguments : IDisposable
{
    private const int SlotBytes = 8;
    private readonly List<long> _values = [];
    private IntPtr _block;

    /// <summary>Gets the number of parameters.</summary>
    public int Count => _values.Count;

    /// <summary>Adds a device pointer (or 0 for an absent optional tensor).</summary>
    public CudaArguments Pointer(IntPtr value)
    {
        _values.Add(value.ToInt64());
        return this;
    }

    /// <summary>Adds a 32-bit integer (C <c>int</c>).</summary>
    public CudaArguments Int(int value)
    {
        _values.Add(value);
        return this;
    }

    /// <summary>Adds a 32-bit integer from a flag (C <c>int</c>, 1 or 0).</summary>
    public CudaArguments Flag(bool value) => Int(value ? 1 : 0);

    /// <summary>Adds a 64-bit integer (C <c>long long</c>).</summary>
    public CudaArguments Long(long value)
    {
        _values.Add(value);
        return this;
    }

    /// <summary>Adds a double (C <c>double</c>).</summary>
    public CudaArguments Double(double value)
    {
        _values.Add(BitConverter.DoubleToInt64Bits(value));
        return this;
    }

    /// <summary>Writes the values (each in an 8-byte little-endian slot: an int reads its low 4 bytes) and returns the pointer array.</summary>
    /// <param name="pointers">The array of parameter pointers, valid until <see cref="Dispose"/>.</param>
    public void Materialise(out IntPtr pointers)
    {
        if (_block != IntPtr.Zero)
        {
            throw new InvalidOperationException("The arguments were already materialised.");
        }

        int n = _values.Count;
        _block = (IntPtr)NativeMemory.AlignedAlloc((nuint)((n * SlotBytes) + (n * sizeof(IntPtr)) + SlotBytes), 16);
        long* slots = (long*)_block;
        IntPtr* table = (IntPtr*)(slots + n);
        for (int i = 0; i < n; i++)
        {
            slots[i] = _values[i];
            table[i] = (IntPtr)(slots + i);
        }

        pointers = (IntPtr)table;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_block != IntPtr.Zero)
        {
            NativeMemory.AlignedFree((void*)_block);
            _block = IntPtr.Zero;
        }
    }
}
