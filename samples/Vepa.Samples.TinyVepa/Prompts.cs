using TorchSharp;
using Vepa;
using static TorchSharp.torch;

namespace Vepa.Samples.TinyVepa;

/// <summary>The policy prompts of some scene items: no prompt tokens, the scene-and-question features [F] as the model input. Owns the feature tensors.</summary>
internal sealed class Prompts : IDisposable
{
    private readonly List<Tensor> _features = [];

    public Prompts(IReadOnlyList<VqaItem> items)
    {
        Items = items.Select(item =>
        {
            var buffer = new float[SceneWorld.FeatureCount];
            item.WriteFeatures(buffer);
            var features = tensor(buffer).DetachFromDisposeScope();
            _features.Add(features);
            return new PolicyPrompt(item.Question, item.Gold, [], features);
        }).ToArray();
    }

    public IReadOnlyList<PolicyPrompt> Items { get; }

    public void Dispose() => _features.ForEach(f => f.Dispose());
}
