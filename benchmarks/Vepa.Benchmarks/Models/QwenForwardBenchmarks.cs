using BenchmarkDotNet.Attributes;
using TorchSharp;
using Vepa.Models;
using static TorchSharp.torch;

namespace Vepa.Benchmarks.Models;

/// <summary>
/// The decoder stack's forward and forward + backward (to the last hidden states, as a trainer uses it) on a Qwen2.5-0.5B-shaped
/// 2-layer model, batch 1 × 96 tokens, float32 on the CPU, against the same model in PyTorch eager (Debian's python3-torch,
/// the baseline) driven from the same run. Both sides use <see cref="QwenBenchmarkShape.Threads"/> intra-op threads.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(QwenBenchmarkConfig))]
public class QwenForwardBenchmarks
{
    private const int Batch = 1, Length = 96;
    private QwenForCausalLM _model = null!;
    private Tensor _ids = null!;
    private PyTorchPeer _peer = null!;

    [GlobalSetup]
    public void Setup()
    {
        _model = QwenBenchmarkShape.CreateModel();
        _ids = randint(0, QwenBenchmarkShape.Vocabulary, [Batch, Length], ScalarType.Int64);
        _peer = new PyTorchPeer(Batch, Length);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _peer.Dispose();
        _ids.Dispose();
        _model.Dispose();
    }

    [Benchmark(Baseline = true)]
    public void PyTorchForward() => _peer.Run("forward");

    [Benchmark]
    public long VepaForward()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        _model.eval();
        return _model.Forward(_ids).shape[1];
    }

    [Benchmark]
    public void PyTorchForwardBackward() => _peer.Run("forward_backward");

    [Benchmark]
    public double VepaForwardBackward()
    {
        using var scope = NewDisposeScope();
        _model.train();
        _model.zero_grad();
        var loss = _model.Forward(_ids).square().mean();
        loss.backward();
        return loss.item<float>();
    }

    [Benchmark]
    public double VepaForwardBackwardCheckpointed()
    {
        using var scope = NewDisposeScope();
        _model.train();
        _model.GradientCheckpointing = true;
        try
        {
            _model.zero_grad();
            var loss = _model.Forward(_ids).square().mean();
            loss.backward();
            return loss.item<float>();
        }
        finally
        {
            _model.GradientCheckpointing = false;
        }
    }
}
