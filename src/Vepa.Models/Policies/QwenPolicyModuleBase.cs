using TorchSharp;
using Vepa.Grpo;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// What the Qwen text and Qwen2-VL policy modules share: the wrapped model's children registered as this module's own (so state names
/// are the Hugging Face names), a KV cache and an attention mask, and the model disposed with the module.
/// </summary>
/// <typeparam name="TModel">The wrapped model.</typeparam>
internal abstract class QwenPolicyModuleBase<TModel> : PolicyModule
    where TModel : nn.Module
{
    protected QwenPolicyModuleBase(string name, TModel model)
        : base(name)
    {
        ArgumentNullException.ThrowIfNull(model);
        Model = model;
        foreach (var (childName, child) in model.named_children())
        {
            register_module(childName, child);
        }
    }

    /// <summary>Gets the wrapped model (its children are this module's children).</summary>
    public TModel Model { get; }

    public override bool SupportsKeyValueCache => true;

    public override bool SupportsAttentionMask => true;

    protected override void Dispose(bool disposing)
    {
        base.Dispose(disposing);
        if (disposing)
        {
            Model.Dispose();
        }
    }
}
