using System.Numerics;
using System.Runtime.CompilerServices;

namespace Vepa.Grpo;

/// <summary>Vector helpers of the managed policy-loss kernel: a fast float32 exp and mask expansion.</summary>
internal static class ManagedVectorMath
{
    // ln 2 split so that n * Ln2High is exact for |n| < 2^14 (Ln2High has 9 significant bits).
    private const float Ln2High = 0.693359375f;
    private const float Ln2Low = -2.12194440e-4f;
    private const float Log2E = 1.44269504088896341f;

    // ln 2 split as in fdlibm: Ln2HighDouble has 32 significant bits, so n * Ln2HighDouble is exact for |n| < 2^21.
    private const double Ln2HighDouble = 6.93147180369123816490e-01;
    private const double Ln2LowDouble = 1.90821492927058770002e-10;
    private const double Log2EDouble = 1.44269504088896338700e+00;

    // 1.5·2^52: adding it rounds x·log2(e) to an integer n and leaves n in the low mantissa bits.
    private const double RoundingShiftDouble = 6755399441055744.0;

    // Up to |x| = 700, |n| ≤ 1010: adding n to the exponent of p stays a normal float64.
    private const double WideLimitDouble = 700.0;

    // 1.5·2^23: adding it rounds x·log2(e) to an integer n and leaves n (two's complement) in the low mantissa bits, so
    // shifting the sum's bits left by 23 gives n in the exponent field.
    private const float RoundingShift = 12582912f;

    // Up to |x| = 86, |n| ≤ 124: adding n to the exponent of p ∈ [0.7, 1.42] stays a normal float.
    private const float WideLimit = 86f;

    // Below ln(2^-150) every float result rounds to 0; above ln(FLT_MAX) it is +inf. Clamping the input keeps the
    // exponent arithmetic in range while these limits still produce 0 and +inf.
    private const float ExpInputMin = -104f;
    private const float ExpInputMax = 89f;

    /// <summary>Returns e^x per lane for float32 or float64 vectors.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">The exponents.</param>
    /// <returns>e^x, within about 1 ulp; +inf on overflow, 0 (through the subnormals) on underflow.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> Exp<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpSingle(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return ExpDouble(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException($"Exp supports float and double, not {typeof(T).Name}.");
    }

    /// <summary>Returns e^x per lane for lanes with |x| ≤ <see cref="FastLimit{T}"/>; other lanes are garbage until
    /// <see cref="FixWide{T}"/> replaces them.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">The exponents.</param>
    /// <returns>e^x on the fast range.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> ExpFast<T>(Vector<T> x)
    {
        if (typeof(T) == typeof(float))
        {
            return ExpSingleFast(x.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return ExpDoubleFast(x.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException($"Exp supports float and double, not {typeof(T).Name}.");
    }

    /// <summary>Gets the largest |x| for which <see cref="ExpFast{T}"/> is exact (86 for float, 700 for double).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <returns>The limit, broadcast.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> FastLimit<T>()
        => typeof(T) == typeof(float) ? new Vector<float>(WideLimit).As<float, T>() : new Vector<double>(WideLimitDouble).As<double, T>();

    /// <summary>Replaces the lanes of <paramref name="fast"/> where |x| exceeds <see cref="FastLimit{T}"/> with the full-range e^x.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="x">The exponents.</param>
    /// <param name="fast">The result of <see cref="ExpFast{T}"/>.</param>
    /// <returns>e^x on every lane.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> FixWide<T>(Vector<T> x, Vector<T> fast)
    {
        var wide = Vector.GreaterThan(Vector.Abs(x), FastLimit<T>());
        if (typeof(T) == typeof(float))
        {
            return Vector.ConditionalSelect(wide, ExpSingleWide(x.As<T, float>()).As<float, T>(), fast);
        }

        return Vector.ConditionalSelect(wide, ExpDoubleWide(x.As<T, double>()).As<double, T>(), fast);
    }

    /// <summary>Returns a·b + c per lane with one rounding.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="a">The first factor.</param>
    /// <param name="b">The second factor.</param>
    /// <param name="c">The addend.</param>
    /// <returns>a·b + c.</returns>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector<T> MultiplyAdd<T>(Vector<T> a, Vector<T> b, Vector<T> c)
    {
        if (typeof(T) == typeof(float))
        {
            return Vector.FusedMultiplyAdd(a.As<T, float>(), b.As<T, float>(), c.As<T, float>()).As<float, T>();
        }

        if (typeof(T) == typeof(double))
        {
            return Vector.FusedMultiplyAdd(a.As<T, double>(), b.As<T, double>(), c.As<T, double>()).As<double, T>();
        }

        throw new NotSupportedException($"MultiplyAdd supports float and double, not {typeof(T).Name}.");
    }

    /// <summary>e^x for float32 lanes: x = n ln 2 + r with |r| ≤ ln 2 / 2 (Cody–Waite, n rounded by the 1.5·2^23 shift, which
    /// also leaves n in the low bits), the polynomial for e^r, and n added to its exponent field. Lanes with |x| &gt; 86
    /// (results near overflow or in the subnormal range) take <see cref="ExpSingleWide"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpSingle(Vector<float> x)
    {
        var result = ExpSingleFast(x);
        if (Vector.GreaterThanAny(Vector.Abs(x), new Vector<float>(WideLimit)))
        {
            result = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Abs(x), new Vector<float>(WideLimit)), ExpSingleWide(x), result);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpSingleFast(Vector<float> x)
    {
        var shifted = Vector.FusedMultiplyAdd(x, new Vector<float>(Log2E), new Vector<float>(RoundingShift));
        var n = shifted - new Vector<float>(RoundingShift);
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2High), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Low), r);
        var p = Polynomial(r);
        return (p.As<float, int>() + Vector.ShiftLeft(shifted.As<float, int>(), 23)).As<int, float>();
    }

    /// <summary>e^x for float32 lanes of any magnitude: as <see cref="ExpSingle"/>, with the input clamped to [−104, 89] and
    /// 2^n applied in two halves, so results down through the subnormals and up to FLT_MAX come out right (+inf above).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> ExpSingleWide(Vector<float> x)
    {
        x = Vector.ClampNative(x, new Vector<float>(ExpInputMin), new Vector<float>(ExpInputMax));
        var n = Vector.Round(x * new Vector<float>(Log2E));
        var r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2High), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<float>(-Ln2Low), r);
        var p = Polynomial(r);

        // n is in [-150, 129]; each half is in [-75, 65], a normal float exponent.
        var ni = Vector.ConvertToInt32Native(n);
        var half = Vector.ShiftRightArithmetic(ni, 1);
        var rest = ni - half;
        var bias = new Vector<int>(127);
        var s1 = Vector.ShiftLeft(half + bias, 23).As<int, float>();
        var s2 = Vector.ShiftLeft(rest + bias, 23).As<int, float>();
        return p * s1 * s2;
    }

    /// <summary>e^r ≈ 1 + r + r²·(c2 + c3 r + c4 r² + c5 r³ + c6 r⁴) on |r| ≤ ln 2 / 2, a Chebyshev fit (relative error
    /// 1.0e-8, a sixth of a float ulp; 1 and r exact), by Estrin's scheme (three levels of fused multiply-adds instead of
    /// Horner's six, so the dependency chain is short).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<float> Polynomial(Vector<float> r)
    {
        var r2 = r * r;
        var a0 = r + Vector<float>.One;
        var a1 = Vector.FusedMultiplyAdd(r, new Vector<float>(0.1666657702559799f), new Vector<float>(0.5f));
        var a2 = Vector.FusedMultiplyAdd(r, new Vector<float>(0.008363173074513711f), new Vector<float>(0.041666554662050534f));
        var b0 = Vector.FusedMultiplyAdd(a1, r2, a0);
        var b1 = Vector.FusedMultiplyAdd(r2, new Vector<float>(0.001392617611993558f), a2);
        var r4 = r2 * r2;
        return Vector.FusedMultiplyAdd(b1, r4, b0);
    }

    /// <summary>e^x for float64 lanes, built like <see cref="ExpSingle"/> (every lane computed on its own: unlike
    /// <see cref="Vector.Exp(Vector{double})"/>, whose result for one lane can depend on the others, so masked-out padding
    /// could change a valid token's value): Cody–Waite reduction, a degree-13 Taylor polynomial (truncation error below
    /// 0.05 ulp) by Estrin's scheme, and n added to its exponent field; lanes with |x| &gt; 700 take
    /// <see cref="ExpDoubleWide"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ExpDouble(Vector<double> x)
    {
        var result = ExpDoubleFast(x);
        if (Vector.GreaterThanAny(Vector.Abs(x), new Vector<double>(WideLimitDouble)))
        {
            result = Vector.ConditionalSelect(Vector.GreaterThan(Vector.Abs(x), new Vector<double>(WideLimitDouble)), ExpDoubleWide(x), result);
        }

        return result;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ExpDoubleFast(Vector<double> x)
    {
        var shifted = Vector.FusedMultiplyAdd(x, new Vector<double>(Log2EDouble), new Vector<double>(RoundingShiftDouble));
        var n = shifted - new Vector<double>(RoundingShiftDouble);
        var r = Vector.FusedMultiplyAdd(n, new Vector<double>(-Ln2HighDouble), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<double>(-Ln2LowDouble), r);
        var p = PolynomialDouble(r);
        return (p.As<double, long>() + Vector.ShiftLeft(shifted.As<double, long>(), 52)).As<long, double>();
    }

    /// <summary>e^x for float64 lanes of any magnitude: the input clamped to [−746, 710] and 2^n applied in two halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> ExpDoubleWide(Vector<double> x)
    {
        x = Vector.ClampNative(x, new Vector<double>(-746.0), new Vector<double>(710.0));
        var n = Vector.Round(x * new Vector<double>(Log2EDouble));
        var r = Vector.FusedMultiplyAdd(n, new Vector<double>(-Ln2HighDouble), x);
        r = Vector.FusedMultiplyAdd(n, new Vector<double>(-Ln2LowDouble), r);
        var p = PolynomialDouble(r);

        // n is in [-1077, 1025]; each half is in [-539, 513], a normal float64 exponent.
        var ni = Vector.ConvertToInt64Native(n);
        var half = Vector.ShiftRightArithmetic(ni, 1);
        var rest = ni - half;
        var bias = new Vector<long>(1023);
        var s1 = Vector.ShiftLeft(half + bias, 52).As<long, double>();
        var s2 = Vector.ShiftLeft(rest + bias, 52).As<long, double>();
        return p * s1 * s2;
    }

    /// <summary>Σ_{k=0..13} r^k / k! by Estrin's scheme.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector<double> PolynomialDouble(Vector<double> r)
    {
        var r2 = r * r;
        var a0 = r + Vector<double>.One;
        var a1 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 6), new Vector<double>(1.0 / 2));
        var a2 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 120), new Vector<double>(1.0 / 24));
        var a3 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 5040), new Vector<double>(1.0 / 720));
        var a4 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 362880), new Vector<double>(1.0 / 40320));
        var a5 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 39916800), new Vector<double>(1.0 / 3628800));
        var a6 = Vector.FusedMultiplyAdd(r, new Vector<double>(1.0 / 6227020800), new Vector<double>(1.0 / 479001600));
        var r4 = r2 * r2;
        var b0 = Vector.FusedMultiplyAdd(a1, r2, a0);
        var b1 = Vector.FusedMultiplyAdd(a3, r2, a2);
        var b2 = Vector.FusedMultiplyAdd(a5, r2, a4);
        var r8 = r4 * r4;
        var c0 = Vector.FusedMultiplyAdd(b1, r4, b0);
        var c1 = Vector.FusedMultiplyAdd(a6, r4, b2);
        return Vector.FusedMultiplyAdd(c1, r8, c0);
    }

    /// <summary>Expands a row of a bool/uint8 mask into per-lane masks of <typeparamref name="T"/> (all bits set where the
    /// byte is non-zero, zero elsewhere) and counts the set bytes.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="mask">The mask bytes of the row.</param>
    /// <param name="lanes">Receives the lane masks; at least <paramref name="mask"/>.Length rounded up to a whole vector. Lanes past the row are cleared.</param>
    /// <returns>The number of non-zero bytes.</returns>
    public static int ExpandByteMask<T>(ReadOnlySpan<byte> mask, Span<T> lanes)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int len = mask.Length;
        int step = Vector<byte>.Count;
        int i = 0;
        var counts = Vector<int>.Zero;
        ref T dst = ref lanes[0];
        for (; i + step <= len; i += step)
        {
            var raw = Vector.LoadUnsafe(ref Unsafe.As<byte, sbyte>(ref Unsafe.AsRef(in mask[i])));
            var set = Vector.OnesComplement(Vector.Equals(raw, Vector<sbyte>.Zero));
            Vector.Widen(set, out Vector<short> s0, out Vector<short> s1);
            Vector.Widen(s0, out Vector<int> i0, out Vector<int> i1);
            Vector.Widen(s1, out Vector<int> i2, out Vector<int> i3);
            counts += i0 + i1 + i2 + i3;
            StoreLaneMask(i0, ref dst, i);
            StoreLaneMask(i1, ref dst, i + Vector<int>.Count);
            StoreLaneMask(i2, ref dst, i + (2 * Vector<int>.Count));
            StoreLaneMask(i3, ref dst, i + (3 * Vector<int>.Count));
        }

        int count = -Vector.Sum(counts);
        T all = Vector<T>.AllBitsSet[0];
        for (; i < len; i++)
        {
            bool set = mask[i] != 0;
            count += set ? 1 : 0;
            lanes[i] = set ? all : T.Zero;
        }

        int padded = RoundUp(len, Vector<T>.Count);
        lanes[len..padded].Clear();
        return count;
    }

    /// <summary>Expands a row of a float mask (values 0/1) into per-lane masks (all bits set where the value is non-zero).</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="mask">The mask values of the row.</param>
    /// <param name="lanes">Receives the lane masks, as in <see cref="ExpandByteMask{T}"/>.</param>
    /// <param name="nonBinary">Set when a value is neither 0 nor 1 (NaN included).</param>
    /// <returns>The number of non-zero values.</returns>
    public static int ExpandValueMask<T>(ReadOnlySpan<T> mask, Span<T> lanes, out bool nonBinary)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int len = mask.Length;
        int step = Vector<T>.Count;
        int i = 0;
        var counts = Vector<T>.Zero;
        var other = Vector<T>.Zero;
        for (; i + step <= len; i += step)
        {
            var m = new Vector<T>(mask[i..]);
            var zero = Vector.Equals(m, Vector<T>.Zero);
            other |= Vector.OnesComplement(zero | Vector.Equals(m, Vector<T>.One));
            var set = Vector.OnesComplement(zero);
            counts += set & Vector<T>.One;
            set.CopyTo(lanes[i..]);
        }

        int count = int.CreateTruncating(Vector.Sum(counts));
        // Compared as bytes: a set lane is a NaN pattern, which float equality would never call equal.
        nonBinary = !Vector.EqualsAll(other.As<T, byte>(), Vector<byte>.Zero);
        T all = Vector<T>.AllBitsSet[0];
        for (; i < len; i++)
        {
            T m = mask[i];
            bool set = m != T.Zero;
            nonBinary |= set && m != T.One;
            count += set ? 1 : 0;
            lanes[i] = set ? all : T.Zero;
        }

        int padded = RoundUp(len, Vector<T>.Count);
        lanes[len..padded].Clear();
        return count;
    }

    /// <summary>Counts the non-zero bytes of a mask row.</summary>
    /// <param name="mask">The mask bytes.</param>
    /// <returns>The count.</returns>
    public static int CountNonZero(ReadOnlySpan<byte> mask)
    {
        int len = mask.Length;
        int step = Vector<byte>.Count;
        int i = 0;
        long count = 0;
        while (i + step <= len)
        {
            // A byte lane counts at most 255 vectors before it wraps.
            var acc = Vector<byte>.Zero;
            for (int k = 0; k < 255 && i + step <= len; k++, i += step)
            {
                acc += Vector.AndNot(Vector<byte>.One, Vector.Equals(new Vector<byte>(mask[i..]), Vector<byte>.Zero));
            }

            Vector.Widen(acc, out Vector<ushort> a0, out Vector<ushort> a1);
            count += Vector.Sum(a0 + a1);
        }

        for (; i < len; i++)
        {
            count += mask[i] != 0 ? 1 : 0;
        }

        return (int)count;
    }

    /// <summary>Counts the non-zero values of a float mask row.</summary>
    /// <typeparam name="T">float or double.</typeparam>
    /// <param name="mask">The mask values.</param>
    /// <returns>The count.</returns>
    public static int CountNonZero<T>(ReadOnlySpan<T> mask)
        where T : unmanaged, IBinaryFloatingPointIeee754<T>
    {
        int len = mask.Length;
        int step = Vector<T>.Count;
        int i = 0;
        var counts = Vector<T>.Zero;
        for (; i + step <= len; i += step)
        {
            counts += Vector.AndNot(Vector<T>.One, Vector.Equals(new Vector<T>(mask[i..]), Vector<T>.Zero));
        }

        int count = int.CreateTruncating(Vector.Sum(counts));
        for (; i < len; i++)
        {
            count += mask[i] != T.Zero ? 1 : 0;
        }

        return count;
    }

    /// <summary>Rounds <paramref name="value"/> up to a multiple of <paramref name="multiple"/>.</summary>
    /// <param name="value">The value, ≥ 0.</param>
    /// <param name="multiple">The multiple, &gt; 0.</param>
    /// <returns>The rounded value.</returns>
    public static int RoundUp(int value, int multiple) => (value + multiple - 1) / multiple * multiple;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreLaneMask<T>(Vector<int> set, ref T dst, int index)
        where T : unmanaged
    {
        if (typeof(T) == typeof(float))
        {
            set.As<int, T>().StoreUnsafe(ref dst, (nuint)index);
        }
        else
        {
            Vector.Widen(set, out Vector<long> lo, out Vector<long> hi);
            lo.As<long, T>().StoreUnsafe(ref dst, (nuint)index);
            hi.As<long, T>().StoreUnsafe(ref dst, (nuint)(index + Vector<long>.Count));
        }
    }
}
