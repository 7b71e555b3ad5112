using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>The trainer's optimizer: AdamW by default (its moments checkpointed tensor by tensor), or the host's from <see cref="GrpoTrainerOptions.OptimizerFactory"/> (checkpointed in TorchSharp's optimizer state format).</summary>
internal sealed class GrpoOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;

    private GrpoOptimizer(optim.Optimizer inner, AdamW? adam, Parameter[] parameters)
    {
        Inner = inner;
        Adam = adam;
        _parameters = parameters;
    }

    /// <summary>Gets the optimizer.</summary>
    public optim.Optimizer Inner { get; }

    /// <summary>Gets the built-in AdamW, or <see langword="null"/> for the host's optimizer.</summary>
    public AdamW? Adam { get; }

    /// <summary>Gets the name written to checkpoints: "AdamW" for the built-in one, else the host optimizer's type name.</summary>
    public string TypeName => Adam is not null ? "AdamW" : Inner.GetType().FullName ?? Inner.GetType().Name;

    public static GrpoOptimizer Create(Parameter[] parameters, GrpoTrainerOptions options)
    {
        if (options.OptimizerFactory is { } factory)
        {
            var inner = factory(parameters) ?? throw new ArgumentException("GrpoTrainerOptions.OptimizerFactory returned null.", nameof(options));
            return new GrpoOptimizer(inner, null, parameters);
        }

        var adam = optim.AdamW(parameters, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
        return new GrpoOptimizer(adam, adam, parameters);
    }

    public void SetLearningRate(double learningRate)
    {
        foreach (var group in Inner.ParamGroups)
        {
            group.LearningRate = learningRate;
        }
    }

    /// <summary>Drops the gradients (sets them to none, as PyTorch's <c>zero_grad(set_to_none=True)</c>), so they hold no memory between updates.</summary>
    /// <remarks>TorchSharp's <c>zero_grad()</c> zeroes the gradient tensors in place and keeps them allocated.</remarks>
    public void ZeroGradients()
    {
        using var scope = NewDisposeScope();
        foreach (var parameter in _parameters)
        {
            if (parameter.grad is not null)
            {
                parameter.grad = null;
            }
        }
    }

    public void Step() => Inner.step();

    /// <summary>Writes the host optimizer's state to <paramref name="path"/>.</summary>
    public void SaveState(string path)
    {
        using var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write);
        using (var writer = new BinaryWriter(stream, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            ((OptimizerHelper)Inner).save_state_dict(writer);
        }

        stream.Flush(flushToDisk: true);
    }

    /// <summary>Reads the host optimizer's state from <paramref name="path"/>.</summary>
    public void LoadState(string path)
    {
        using var stream = File.OpenRead(path);
        using var reader = new BinaryReader(stream);
        ((OptimizerHelper)Inner).load_state_dict(reader);
    }

    public void Dispose() => Inner.Dispose();
}
