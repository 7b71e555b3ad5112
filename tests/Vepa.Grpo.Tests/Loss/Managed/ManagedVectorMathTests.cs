using System.Numerics;

namespace Vepa.Grpo.Tests;

/// <summary>The managed kernel's vector helpers against plain scalar math.</summary>
public sealed class ManagedVectorMathTests
{
    [Fact]
    public void Float_exp_is_within_two_ulp_of_the_correctly_rounded_value_over_the_whole_range()
    {
        var rng = new Random(31);
        var inputs = new List<float>();
        for (float x = -110f; x <= 95f; x += 0.013f)
        {
            inputs.Add(x);
        }

        for (int i = 0; i < 20000; i++)
        {
            inputs.Add((float)((rng.NextDouble() * 2) - 1)); // the log-ratios that matter: near 0
        }

        inputs.AddRange([0f, -0f, 88.72283f, 88.72284f, 88.5f, 88.4f, -87.33654f, -87.4f, -100f, -103.97f, -104f, -1e30f, 1e30f, 87f, -87f, 86f, -86f, 86.01f, -86.01f]);

        int width = Vector<float>.Count;
        float[] lanes = new float[width];
        for (int start = 0; start < inputs.Count; start += width)
        {
            for (int k = 0; k < width; k++)
            {
                lanes[k] = inputs[Math.Min(start + k, inputs.Count - 1)];
            }

            Vector<float> actual = ManagedVectorMath.Exp(new Vector<float>(lanes));
            for (int k = 0; k < width; k++)
            {
                float x = lanes[k];
                double exact = Math.Exp(x);
                float got = actual[k];
                if (exact > float.MaxValue)
                {
                    float.IsPositiveInfinity(got).Should().BeTrue($"e^{x} overflows float");
                }
                else if (exact < float.Epsilon / 2)
                {
                    got.Should().Be(0f, $"e^{x} underflows to 0");
                }
                else if (exact < 1.1754943508222875e-38)
                {
                    // Subnormal results: within one subnormal step.
                    Math.Abs(got - exact).Should().BeLessThanOrEqualTo(float.Epsilon, $"e^{x} (subnormal)");
                }
                else
                {
                    double ulp = Math.BitIncrement((double)(float)exact) - (float)exact;
                    double floatUlp = MathF.BitIncrement((float)exact) - (float)exact;
                    Math.Abs(got - exact).Should().BeLessThanOrEqualTo(2 * Math.Max(ulp, floatUlp), $"e^{x}");
                }
            }
        }
    }

    [Fact]
    public void Double_exp_matches_Math_Exp_to_a_few_ulp()
    {
        var rng = new Random(32);
        int width = Vector<double>.Count;
        double[] lanes = new double[width];
        for (int i = 0; i < 5000; i++)
        {
            for (int k = 0; k < width; k++)
            {
                lanes[k] = (rng.NextDouble() - 0.5) * (i % 3 == 0 ? 2 : i % 3 == 1 ? 1400 : 1420);
            }

            Vector<double> actual = ManagedVectorMath.Exp(new Vector<double>(lanes));
            for (int k = 0; k < width; k++)
            {
                double exact = Math.Exp(lanes[k]);
                if (double.IsInfinity(exact) || exact == 0)
                {
                    actual[k].Should().Be(exact);
                }
                else
                {
                    Math.Abs(actual[k] - exact).Should().BeLessThanOrEqualTo(1e-15 * exact, $"e^{lanes[k]}");
                }
            }
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(31)]
    [InlineData(32)]
    [InlineData(33)]
    [InlineData(64)]
    [InlineData(1003)]
    [InlineData(9000)]
    public void Mask_expansion_and_counts_match_a_plain_loop(int length)
    {
        var rng = new Random(length);
        byte[] bytes = new byte[length];
        float[] floats = new float[length];
        for (int i = 0; i < length; i++)
        {
            bool set = rng.NextDouble() < 0.6;
            bytes[i] = (byte)(set ? 1 : 0);
            floats[i] = set ? 1f : 0f;
        }

        int expected = bytes.Count(b => b != 0);
        int padded = ManagedVectorMath.RoundUp(Math.Max(1, length), Vector<double>.Count) + Vector<float>.Count;

        float[] fromBytes = Enumerable.Repeat(float.NaN, padded).ToArray();
        ManagedVectorMath.ExpandByteMask<float>(bytes, fromBytes).Should().Be(expected);
        double[] fromBytesDouble = Enumerable.Repeat(double.NaN, padded).ToArray();
        ManagedVectorMath.ExpandByteMask<double>(bytes, fromBytesDouble).Should().Be(expected);
        float[] fromValues = Enumerable.Repeat(float.NaN, padded).ToArray();
        ManagedVectorMath.ExpandValueMask<float>(floats, fromValues, out bool nonBinary).Should().Be(expected);
        nonBinary.Should().BeFalse();
        ManagedVectorMath.CountNonZero(bytes).Should().Be(expected);
        ManagedVectorMath.CountNonZero<float>(floats).Should().Be(expected);

        for (int i = 0; i < ManagedVectorMath.RoundUp(length, Vector<float>.Count); i++)
        {
            bool set = i < length && bytes[i] != 0;
            BitConverter.SingleToInt32Bits(fromBytes[i]).Should().Be(set ? -1 : 0, $"float lane {i}");
            BitConverter.SingleToInt32Bits(fromValues[i]).Should().Be(set ? -1 : 0, $"value lane {i}");
        }

        for (int i = 0; i < ManagedVectorMath.RoundUp(length, Vector<double>.Count); i++)
        {
            bool set = i < length && bytes[i] != 0;
            BitConverter.DoubleToInt64Bits(fromBytesDouble[i]).Should().Be(set ? -1L : 0L, $"double lane {i}");
        }
    }

    [Fact]
    public void A_float_mask_value_other_than_0_or_1_is_flagged()
    {
        float[] mask = [1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 2, 0];
        float[] lanes = new float[16];
        ManagedVectorMath.ExpandValueMask<float>(mask, lanes, out bool nonBinary).Should().Be(7);
        nonBinary.Should().BeTrue();

        mask[10] = float.NaN;
        ManagedVectorMath.ExpandValueMask<float>(mask, lanes, out nonBinary);
        nonBinary.Should().BeTrue();
    }
}
