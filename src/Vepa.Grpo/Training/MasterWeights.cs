using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// The float32 master weights of a <see cref="TrainingPrecision.BFloat16"/> run: one float32 parameter per bfloat16 policy
/// parameter. The gradients accumulated on the bfloat16 parameters are moved to the masters, the optimizer steps the masters
/// (its state is float32 because theirs is), and the masters are copied back, rounded to the nearest even bfloat16. An update
/// smaller than half a bfloat16 ulp is kept by the master and reaches the policy once the sum of such updates is large enough.
/// </summary>
internal sealed class MasterWeights : IDisposable
{
    private readonly Parameter[] _model;

    private MasterWeights(Parameter[] model, Parameter[] masters)
    {
        _model = model;
        Masters = masters;
    }

    /// <summary>Gets the masters, in the order of the policy's trainable parameters.</summary>
    public Parameter[] Masters { get; }

    /// <summary>Creates float32 masters holding the values of the policy's bfloat16 parameters.</summary>
    /// <param name="model">The policy's trainable parameters.</param>
    /// <returns>The masters.</returns>
    /// <exception cref="ArgumentException">A parameter is not bfloat16.</exception>
    public static MasterWeights Create(Parameter[] model)
    {
        int index = Array.FindIndex(model, p => p.dtype != ScalarType.BFloat16);
        if (index >= 0)
        {
            throw new ArgumentException(
                $"Precision is BFloat16, so every trainable parameter of the policy must be bfloat16; parameter {index} [{string.Join(", ", model[index].shape)}] is {model[index].dtype} " +
                "(load the policy in bfloat16, e.g. the model's dtype argument or module.to(ScalarType.BFloat16) before creating the TorchPolicy).", "options");
        }

        using var noGrad = no_grad();
        var masters = model.Select(p => new Parameter(p.detach().to(ScalarType.Float32).clone(), requires_grad: true)).ToArray();
        foreach (var master in masters)
        {
            master.DetachFromDisposeScope();
        }

        return new MasterWeights(model, masters);
    }

    /// <summary>Moves the policy's accumulated gradients to the masters, in float32, and drops them from the policy.</summary>
    public void GatherGradients()
    {
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        for (int i = 0; i < _model.Length; i++)
        {
            var gradient = _model[i].grad;
            Masters[i].grad = gradient?.to(ScalarType.Float32);
            _model[i].grad = null;
        }
    }

    /// <summary>Drops the masters' gradients.</summary>
    public void ZeroGradients()
    {
        using var scope = NewDisposeScope();
        foreach (var master in Masters)
        {
            if (master.grad is not null)
            {
                master.grad = null;
            }
        }
    }

    /// <summary>Copies the masters to the policy's parameters; the float32 → bfloat16 conversion rounds to nearest even.</summary>
    public void CopyToModel()
    {
        using var noGrad = no_grad();
        for (int i = 0; i < _model.Length; i++)
        {
            _model[i].copy_(Masters[i]);
        }
    }

    /// <summary>Sets the masters to saved values (a checkpoint's) and copies them to the policy.</summary>
    /// <param name="values">One tensor per master, shaped like it.</param>
    public void Load(IReadOnlyList<Tensor> values)
    {
        using (no_grad())
        {
            for (int i = 0; i < Masters.Length; i++)
            {
                Masters[i].copy_(values[i]);
            }
        }

        CopyToModel();
    }

    public void Dispose()
    {
        foreach (var master in Masters)
        {
            master.Dispose();
        }
    }
}
