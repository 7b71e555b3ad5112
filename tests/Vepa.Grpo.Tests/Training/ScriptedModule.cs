using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Grpo.Tests.Training;

/// <summary>
/// A module with known next-token logits: the LM head is the identity [V, V], and the hidden state at position i is
/// <c>Logits[i % Logits.Length]</c> whatever the tokens. So the first completion token of a prompt with L positions is drawn
/// from <c>softmax(Logits[L − 1] / τ)</c>.
/// </summary>
internal sealed class ScriptedModule : PolicyModule
{
    private readonly double[][] _logits;
    private readonly Parameter head;

    public ScriptedModule(double[][] logits)
        : base(nameof(ScriptedModule))
    {
        _logits = logits;
        head = new Parameter(eye(logits[0].Length, dtype: ScalarType.Float64));
        RegisterComponents();
    }

    public override Tensor LmHeadWeight => head;

    public override Tensor Forward(Tensor? prefix, Tensor tokenIds, KeyValueCache? cache)
    {
        long positions = tokenIds.shape[1] + (prefix?.shape[1] ?? 0);
        var rows = Enumerable.Range(0, (int)positions).Select(i => _logits[i % _logits.Length]).ToArray();
        var table = tensor(rows.SelectMany(r => r).ToArray(), [positions, _logits[0].Length], ScalarType.Float64);
        return table.unsqueeze(0).expand(tokenIds.shape[0], positions, _logits[0].Length).contiguous();
    }

    public override PolicyModule CloneArchitecture() => new ScriptedModule(_logits);
}
