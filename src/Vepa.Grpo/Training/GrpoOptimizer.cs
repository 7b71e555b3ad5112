using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>The trainer's optimizer: AdamW by default (its moments checkpointed tensor by tensor), or the host's from <see cref="GrpoTrainerOptions.OptimizerFactory"/> (checkpointed in TorchSharp's optimizer state format).</summary>
/// <remarks>With <see cref="TrainingPrecision.BFloat16"/> it steps float32 master weights (<see cref="MasterWeights"/>) instead of the policy's parameters.</remarks>
internal sealed class GrpoOptimizer : IDisposable
{
    private readonly Parameter[] _parameters;

    private GrpoOptimizer(optim.Optimizer inner, AdamW? adam, Parameter[] parameters, MasterWeights? masters)
    {
        Inner = inner;
        Adam = adam;
        _parameters = parameters;
        Masters = masters;
    }

    /// <summary>Gets the float32 master weights of a <see cref="TrainingPrecision.BFloat16"/> run, or <see langword="null"/>.</summary>
    public MasterWeights? Masters { get; }

    /// <summary>Gets the parameters the optimizer steps, whose gradients are clipped: the masters, or the policy's parameters.</summary>
    public IReadOnlyList<Parameter> Parameters => Masters?.Masters ?? _parameters;

    /// <summary>Gets the optimizer.</summary>
    public optim.Optimizer Inner { get; }

    /// <summary>Gets the built-in AdamW, or <see langword="null"/> for the host's optimizer.</summary>
    public AdamW? Adam { get; }

    /// <summary>Gets the name written to checkpoints: "AdamW" for the built-in one, else the host optimizer's type name.</summary>
    public string TypeName => Adam is not null ? "AdamW" : Inner.GetType().FullName ?? Inner.GetType().Name;

    public static GrpoOptimizer Create(Parameter[] parameters, GrpoTrainerOptions options)
    {
        var masters = options.Precision == TrainingPrecision.BFloat16 ? MasterWeights.Create(parameters) : null;
        var stepped = masters?.Masters ?? parameters;
        try
        {
            if (options.OptimizerFactory is { } factory)
            {
                var inner = factory(stepped) ?? throw new ArgumentException("GrpoTrainerOptions.OptimizerFactory returned null.", nameof(options));
                return new GrpoOptimizer(inner, null, parameters, masters);
            }

            var adam = optim.AdamW(stepped, options.LearningRate, options.AdamBeta1, options.AdamBeta2, options.AdamEpsilon, options.WeightDecay);
            return new GrpoOptimizer(adam, adam, parameters, masters);
        }
        catch
        {
            masters?.Dispose();
            throw;
        }
    }

    /// <summary>Moves the accumulated gradients to the masters (float32) before clipping; nothing without masters.</summary>
    public void GatherGradients() => Masters?.GatherGradients();

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

        Masters?.ZeroGradients();
    }

    /// <summary>Steps the optimizer; with masters, then copies them to the policy's parameters (rounded to nearest even).</summary>
    public void Step()
    {
        Inner.step();
        Masters?.CopyToModel();
    }

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

    public void Dispose()
    {
        Inner.Dispose();
        Masters?.Dispose();
    }
}
