namespace Vepa.Models;

/// <summary>Facts about this assembly.</summary>
internal static class ModelsAssembly
{
    /// <summary>The Hugging Face <c>model_type</c> values this assembly loads.</summary>
    internal static readonly string[] SupportedModelTypes = ["qwen2", "qwen3", "qwen2_vl"];
}
