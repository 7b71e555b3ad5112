using System.Runtime.InteropServices;
using TorchSharp;
using Vepa.Grpo.Cuda;
using Vepa.Grpo.Kernels;
using Vepa.Grpo.Tests.Kernels;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Cuda;

[Collection("Sequential")]
public sealed class CudaKernelTests
{
    [Theory]
    [InlineData(CudaSources.PolicyLoss, new[] { "vepa_policy_rows", "vepa_policy_finish", "vepa_policy_backward" })]
    [InlineData(CudaSources.TokenLogProbs, new[] { "vepa_logprob_forward", "vepa_logprob_backward" })]
    [InlineData(CudaSources.Advantages, new[] { "vepa_adv_batch", "vepa_adv_groups" })]
    public void Every_kernel_the_host_launches_is_embedded_as_extern_C_source_without_includes(string file, string[] kernels)
    {
        string unit = CudaSources.TranslationUnit(file);
        foreach (string kernel in kernels)
        {
            unit.Should().Contain($"extern \"C\" __global__ void __launch_bounds__(VEPA_THREADS) {kernel}(");
        }

        unit.Should().Contain("vepa_block_sum", "the common definitions come first");
        unit.Should().NotContain("#include", "NVRTC gets no toolkit headers");
        var read = () => CudaSources.Read("missing.cu");
        read.Should().Throw<InvalidOperationException>().WithMessage("*'missing.cu' is not embedded*");
    }

    [Fact]
    public void The_cache_key_changes_with_the_source_the_options_and_the_compiler_and_nothing_else()
    {
        string a = CudaSources.CacheKey("src", ["--gpu-architecture=sm_90", "-DVEPA_SCALAR=1"], "nvrtc 13.0");
        a.Should().HaveLength(64).And.MatchRegex("^[0-9a-f]+$");
        CudaSources.CacheKey("src", ["--gpu-architecture=sm_90", "-DVEPA_SCALAR=1"], "nvrtc 13.0").Should().Be(a);
        CudaSources.CacheKey("src ", ["--gpu-architecture=sm_90", "-DVEPA_SCALAR=1"], "nvrtc 13.0").Should().NotBe(a);
        CudaSources.CacheKey("src", ["--gpu-architecture=sm_80", "-DVEPA_SCALAR=1"], "nvrtc 13.0").Should().NotBe(a);
        CudaSources.CacheKey("src", ["--gpu-architecture=sm_90", "-DVEPA_SCALAR=2"], "nvrtc 13.0").Should().NotBe(a);
        CudaSources.CacheKey("src", ["--gpu-architecture=sm_90", "-DVEPA_SCALAR=1"], "nvrtc 12.8").Should().NotBe(a);

        // Option boundaries matter: "ab" + "c" is not "a" + "bc".
        CudaSources.CacheKey("s", ["ab", "c"], "v").Should().NotBe(CudaSources.CacheKey("s", ["a", "bc"], "v"));
    }

    [Fact]
    public void The_cubin_cache_stores_and_reads_one_file_per_label_architecture_and_key()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vepa-cubin-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            var cache = new CudaCubinCache(folder);
            string key = CudaSources.CacheKey("source", ["-DVEPA_SCALAR=1"], "nvrtc 13.0");
            cache.TryLoad("policy_loss-SCALAR_1", "sm_90", key).Should().BeNull("nothing is stored yet");
            byte[] image = [0x7f, (byte)'E', (byte)'L', (byte)'F', 1, 2, 3];
            cache.TryStore("policy_loss-SCALAR_1", "sm_90", key, image).Should().BeTrue();
            cache.TryLoad("policy_loss-SCALAR_1", "sm_90", key).Should().Equal(image);
            cache.TryLoad("policy_loss-SCALAR_1", "sm_80", key).Should().BeNull("another architecture is another entry");
            cache.TryLoad("policy_loss-SCALAR_2", "sm_90", key).Should().BeNull("another dtype is another entry");
            Directory.GetFiles(folder).Select(Path.GetFileName).Should().Equal($"policy_loss-SCALAR_1-sm_90-{key}.cubin");

            File.WriteAllBytes(cache.PathOf("empty", "sm_90", key), []);
            cache.TryLoad("empty", "sm_90", key).Should().BeNull("an empty file is no image");
            var bad = () => cache.PathOf("../escape", "sm_90", key);
            bad.Should().Throw<ArgumentException>().WithMessage("*letters, digits*");
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [Fact]
    public void Tensors_are_checked_for_dtype_contiguity_and_device_before_their_pointer_is_taken()
    {
        using var scope = NewDisposeScope();
        var x = zeros(3, 4);
        var wrongType = () => CudaTensors.Pointer(x, "logits", ScalarType.BFloat16, 0);
        wrongType.Should().Throw<ArgumentException>().WithMessage("logits has dtype Float32; the kernel was compiled for BFloat16.*").Which.ParamName.Should().Be("logits");
        var strided = () => CudaTensors.Pointer(x.t(), "mask", ScalarType.Float32, 0);
        strided.Should().Throw<ArgumentException>().WithMessage("mask must be contiguous (shape [4, 3], strides [1, 4]).*");
        var cpu = () => CudaTensors.Pointer(x, "advantages", ScalarType.Float32, 0);
        cpu.Should().Throw<ArgumentException>().WithMessage("advantages must be a CUDA tensor for a CUDA kernel; it is on cpu*");
        CudaTensors.PointerOrZero(null, "old", ScalarType.Float32, 0).Should().Be(IntPtr.Zero);
    }

    [Fact]
    public void Launch_arguments_are_8_byte_slots_addressed_by_a_pointer_table_in_signature_order()
    {
        using var args = new CudaArguments();
        args.Pointer(new IntPtr(0x1234_5678_9abcL)).Int(-7).Flag(true).Long(1L << 40).Double(0.25);
        args.Count.Should().Be(5);
        args.Materialise(out IntPtr table);
        IntPtr Slot(int i) => Marshal.ReadIntPtr(table, i * IntPtr.Size);
        Marshal.ReadInt64(Slot(0)).Should().Be(0x1234_5678_9abcL);
        Marshal.ReadInt32(Slot(1)).Should().Be(-7, "a C int reads the slot's low 4 bytes");
        Marshal.ReadInt32(Slot(2)).Should().Be(1);
        Marshal.ReadInt64(Slot(3)).Should().Be(1L << 40);
        BitConverter.Int64BitsToDouble(Marshal.ReadInt64(Slot(4))).Should().Be(0.25);
        (Slot(1).ToInt64() - Slot(0).ToInt64()).Should().Be(8);
        var twice = () => args.Materialise(out _);
        twice.Should().Throw<InvalidOperationException>();
    }

    [Fact]
    public void Without_CUDA_the_policy_loss_runs_the_tensor_kernel_and_logs_that_choice_once()
    {
        var messages = new List<string>();
        var previous = CudaKernelChoice.Sink;
        CudaKernelChoice.Sink = messages.Add;
        try
        {
            using var scope = NewDisposeScope();
            var options = new PolicyLossOptions { Beta = 0.04, DualClip = 3, Aggregation = LossAggregation.TokenMean };
            var cudaKernel = KernelRegistry.CreateDefault().PolicyLossKernels.Single(k => k.Name == "cuda");
            var inputs = KernelGateCases.Create(new KernelGateCase("vepa", options, 4, 9, ScalarType.Float32, "plain"), 5, CPU);
            var leaf = inputs.LogProbs.requires_grad_();
            using var first = cudaKernel.Compute(inputs, options);
            using var second = cudaKernel.Compute(inputs, options);
            var (expectedLoss, expectedStatistics) = ReferencePolicyLoss.Compute(KernelGateCases.ToFloat64(inputs), options);

            first.Loss.item<float>().Should().BeApproximately((float)expectedLoss.item<double>(), 1e-4f);
            first.Statistics.TokenCount.Should().Be(expectedStatistics.TokenCount);
            autograd.grad([first.Loss], [leaf])[0].abs().sum().item<float>().Should().BeGreaterThan(0);
            messages.Where(m => m.Contains("policy loss", StringComparison.Ordinal)).Should().ContainSingle()
                .Which.Should().Be("Vepa: the policy loss runs on the tensor kernels (LogProbs is on cpu, not a CUDA device).");
        }
        finally
        {
            CudaKernelChoice.Sink = previous;
        }
    }

    [Fact]
    public void Without_CUDA_token_log_probs_and_advantages_fall_back_to_the_tensor_kernels()
    {
        using var scope = NewDisposeScope();
        var registry = KernelRegistry.CreateDefault();
        var logits = randn([2, 3, 11], generator: new Generator(3));
        var targets = randint(11, [2, 3], generator: new Generator(4));
        var expected = (logits.to(ScalarType.Float64) / 0.7).log_softmax(-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
        foreach (var kernel in registry.TokenLogProbKernels.Where(k => k.Name.StartsWith("cuda", StringComparison.Ordinal)))
        {
            var actual = kernel.Compute(logits.clone(), targets, 0.7);
            (actual.to(ScalarType.Float64) - expected).abs().max().item<double>().Should().BeLessThan(1e-5, kernel.Name);
        }

        var rewards = tensor(new[] { 1.0, 2.0, 4.0, double.NaN, 3.0, 3.0, 3.0, 3.0 }, [2, 4]);
        var advantages = registry.AdvantageKernels.Single(k => k.Name == "cuda").Compute(rewards, new AdvantageOptions { Normalization = AdvantageNormalization.MeanCentered });
        double[] expectedAdvantages = [1.0 - (7.0 / 3), 2.0 - (7.0 / 3), 4.0 - (7.0 / 3), 0.0, 0.0, 0.0, 0.0, 0.0];
        advantages.data<double>().ToArray().Zip(expectedAdvantages).Should().OnlyContain(p => Math.Abs(p.First - p.Second) < 1e-12);
        CudaKernelChoice.Choices.Keys.Should().Contain("token log-probs -> tensor fallback: the logits are on cpu, not a CUDA device")
            .And.Contain("group advantages -> tensor fallback: the rewards are on cpu, not a CUDA device");
    }

    [CudaFact(WithoutCuda = true)]
    public void The_runtime_reports_why_it_is_unavailable_on_a_machine_without_CUDA()
    {
        CudaRuntime.Instance.IsAvailable(out string? reason).Should().BeFalse();
        reason.Should().Contain("no CUDA device");
        var function = () => CudaRuntime.Instance.Function(0, CudaSources.PolicyLoss, "vepa_policy_rows", "VEPA_SCALAR=1", "VEPA_MASK=0");
        function.Should().Throw<CudaException>().WithMessage("CUDA kernels are unavailable: *");
    }

    [CudaFact]
    public void On_CUDA_every_policy_loss_gate_case_passes_in_every_dtype()
    {
        var kernel = KernelRegistry.CreateDefault().PolicyLossKernels.Single(k => k.Name == "cuda");
        var report = KernelGate.CheckPolicyLoss(kernel, new ReferencePolicyLossKernel(), new KernelGateOptions { Device = CUDA });
        report.FirstMismatch.Should().BeNull();
    }

    [CudaFact]
    public void On_CUDA_the_token_log_prob_and_advantage_gates_pass()
    {
        var registry = KernelRegistry.CreateDefault();
        var options = new KernelGateOptions { Device = CUDA };
        foreach (var kernel in registry.TokenLogProbKernels.Where(k => k.Name.StartsWith("cuda", StringComparison.Ordinal)))
        {
            KernelGate.CheckTokenLogProbs(kernel, options).FirstMismatch.Should().BeNull(kernel.Name);
        }

        KernelGate.CheckAdvantages(registry.AdvantageKernels.Single(k => k.Name == "cuda"), options).FirstMismatch.Should().BeNull();
    }

    [EmulatorTheory]
    [InlineData(ScalarType.Float32)]
    public void Under_the_CPU_emulator_every_gate_case_of_every_CUDA_kernel_passes(ScalarType dtype) => EmulatedGate(dtype);

    [EmulatorTheory(Long = true)]
    [InlineData(ScalarType.Float64)]
    [InlineData(ScalarType.BFloat16)]
    public void Under_the_CPU_emulator_every_gate_case_passes_in_float64_and_bfloat16_too(ScalarType dtype) => EmulatedGate(dtype);

    private static void EmulatedGate(ScalarType dtype)
    {
        var registry = KernelRegistry.CreateDefault();
        long before = CudaRuntime.Instance.Launches;
        CudaRuntime.Emulator = new CudaCpuEmulator();
        try
        {
            {
                var options = new KernelGateOptions { Dtypes = [dtype] };
                var loss = KernelGate.CheckPolicyLoss(registry.PolicyLossKernels.Single(k => k.Name == "cuda"), new ReferencePolicyLossKernel(), options);
                loss.FirstMismatch.Should().BeNull($"policy loss, {dtype}");
                // The entropy cases are declared unsupported on the device (skipped), never computed by the fallback under the kernel's name.
                loss.CasesRun.Should().Be((KernelGateCases.Variants.Count * (KernelGateCases.Shapes.Count + 2)) + 1);
                loss.CasesSkipped.Should().Be((KernelGateCases.EntropyVariants.Count * (KernelGateCases.Shapes.Count + 1)) + 1);
                foreach (var kernel in registry.TokenLogProbKernels.Where(k => k.Name.StartsWith("cuda", StringComparison.Ordinal)))
                {
                    KernelGate.CheckTokenLogProbs(kernel, options).FirstMismatch.Should().BeNull($"{kernel.Name}, {dtype}");
                }

                var advantages = KernelGate.CheckAdvantages(registry.AdvantageKernels.Single(k => k.Name == "cuda"), options);
                advantages.FirstMismatch.Should().BeNull($"advantages, {dtype}");
                advantages.CasesRun.Should().Be(dtype == ScalarType.BFloat16 ? 0 : 144, "the advantage gate covers float64 and float32");
            }
        }
        finally
        {
            CudaRuntime.Emulator = null;
        }

        CudaRuntime.Instance.Launches.Should().BeGreaterThan(before + 200, "the kernels ran, not the fallback");
    }

    [NvrtcFact]
    public void NVRTC_compiles_every_module_for_sm_90_and_a_second_runtime_reads_them_from_the_disk_cache()
    {
        string folder = Path.Combine(Path.GetTempPath(), "vepa-nvrtc-test-" + Guid.NewGuid().ToString("N"));
        try
        {
            // One module per file by default (each dtype once); every dtype and mask with VEPA_CUDA_LONG_TESTS=1.
            bool all = Environment.GetEnvironmentVariable("VEPA_CUDA_LONG_TESTS") == "1";
            var modules = new List<(string File, string[] Defines)>
            {
                (CudaSources.PolicyLoss, ["VEPA_SCALAR=2", "VEPA_MASK=1"]),
                (CudaSources.TokenLogProbs, ["VEPA_SCALAR=1"]),
                (CudaSources.Advantages, ["VEPA_SCALAR=0"]),
            };
            if (all)
            {
                foreach (int scalar in new[] { 0, 1, 2 })
                {
                    modules.Add((CudaSources.PolicyLoss, [$"VEPA_SCALAR={scalar}", "VEPA_MASK=0"]));
                    modules.Add((CudaSources.TokenLogProbs, [$"VEPA_SCALAR={(scalar + 1) % 3}"]));
                    modules.Add((CudaSources.Advantages, [$"VEPA_SCALAR={(scalar + 1) % 3}"]));
                }

                foreach (int mask in new[] { 2, 3, 4, 5 })
                {
                    modules.Add((CudaSources.PolicyLoss, ["VEPA_SCALAR=1", $"VEPA_MASK={mask}"]));
                }
            }

            var first = new CudaRuntime(new CudaCubinCache(folder));
            var images = modules.Select(m => first.Cubin(m.File, "sm_90", m.Defines)).ToList();
            images.Should().OnlyContain(i => i.Length > 1000 && i[0] == 0x7f && i[1] == (byte)'E' && i[2] == (byte)'L' && i[3] == (byte)'F', "a CUBIN is an ELF image");
            first.Compilations.Should().Be(modules.Count);
            first.CacheHits.Should().Be(0);
            Directory.GetFiles(folder, "*.cubin").Should().HaveCount(modules.Count);

            var second = new CudaRuntime(new CudaCubinCache(folder));
            var cached = modules.Select(m => second.Cubin(m.File, "sm_90", m.Defines)).ToList();
            second.Compilations.Should().Be(0);
            second.CacheHits.Should().Be(modules.Count);
            cached.Zip(images).Should().OnlyContain(p => p.First.SequenceEqual(p.Second));
        }
        finally
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
    }

    [NvrtcFact]
    public void An_NVRTC_compile_error_names_the_file_the_options_and_the_compiler_log()
    {
        var act = () => CudaRuntime.Compile("extern \"C\" __global__ void k(float* x) { x[0] = vepa_not_declared(1.0f); }", "broken.cu", ["--gpu-architecture=sm_90"]);
        act.Should().Throw<CudaException>().WithMessage("NVRTC could not compile broken.cu (--gpu-architecture=sm_90)*vepa_not_declared*");
    }
}
