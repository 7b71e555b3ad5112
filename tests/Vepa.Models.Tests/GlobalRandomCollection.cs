namespace Vepa.Models.Tests;

/// <summary>
/// Tests that seed TorchSharp's process-wide generator (<c>torch.manual_seed</c>) and then rely on what it draws run in this
/// collection, never in parallel with others: a test in another class drawing from the same generator between the seed and the
/// draw would change the numbers.
/// </summary>
[CollectionDefinition("Global random generator", DisableParallelization = true)]
public sealed class GlobalRandomCollection
{
}
