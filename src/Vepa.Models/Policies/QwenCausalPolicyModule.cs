using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// <see cref="QwenForCausalLM"/> (Qwen2 / Qwen2.5 / Qwen3) as a <see cref="PolicyModule"/>: left-padded batches with an attention
/// mask and Hugging Face position ids, the KV cache, and state names equal to the Hugging Face parameter names
/// (<c>model.layers.0.self_attn.q_proj.weight</c>, ...), because the model's own children are registered here directly.
/// </summary>
internal sealed class QwenCausalPolicyModule : PolicyModule
{
    public QwenCausalPolicyModule(QwenForCausalLM model)
        : base(nameof(QwenForCausalLM))
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        foreach (var (name, child) in model.named_children())
        {
            register_module(name, child);
        }
    }

    /// <summary>Gets the wrapped model (its children are this module's children).</summary>
    public QwenForCausalLM Model { get; }

    public override Tensor LmHeadWeight => Model.LmHeadWeight;

    public override bool SupportsKeyValueCache => true;

    public override bool SupportsAttentionMask => true;

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

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Model.Dispose();
        }
    }
}
