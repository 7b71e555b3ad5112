using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// <see cref="QwenForCausalLM"/> (Qwen2 / Qwen2.5 / Qwen3) as a <see cref="PolicyModule"/>: left-padded batches with an attention
/// mask and Hugging Face position ids, the KV cache, and state names equal to the Hugging Face parameter names
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, ...), because the model's own children are registered here directly.
/// </summary>
internal sealed class QwenCausalPolicyModule : QwenPolicyModuleBase<QwenForCausalLM>
{
    public QwenCausalPolicyModule(QwenForCausalLM model)
        : base(nameof(QwenForCausalLM), model)
    {
    }

    public override Tensor LmHeadWeight => Model.LmHeadWeight;

    public override Tensor Forward(PolicyForwardInputs inputs)
    {
        ArgumentNullException.ThrowIfNull(inputs);
        if (inputs.Prefix is not null)
        {
            throw new ArgumentException(
                "A Qwen text policy takes no prefix embeddings (PolicyPrompt.Inputs); images go through Qwen2-VL's ModelInputs.", nameof(inputs));
        }

        return Model.Forward(inputs.TokenIds, inputs.AttentionMask, inputs.PositionIds, inputs.Cache);
    }

    public override PolicyModule CloneArchitecture() => new QwenCausalPolicyModule(
        new QwenForCausalLM(Model.Config, initialize: false)
        {
            GenerationConfigJson = Model.GenerationConfigJson,
            SourceFolder = Model.SourceFolder,
        });
}
