using TorchSharp;

namespace Vepa.Grpo.Tests.Training;

/// <summary>Runs LibTorch on one intra-op thread until disposed: for tiny models that is fastest on a shared machine, and runs repeat exactly.</summary>
internal sealed class SingleThreadedTorch : IDisposable
{
    private readonly int _threads = torch.get_num_threads();

    public SingleThreadedTorch() => torch.set_num_threads(1);

    public void Dispose() => torch.set_num_threads(_threads);
}
