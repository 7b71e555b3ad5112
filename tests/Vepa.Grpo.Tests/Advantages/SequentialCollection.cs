namespace Vepa.Grpo.Tests;

/// <summary>Tests that read process-wide tensor statistics run in this collection, never beside other tests.</summary>
[CollectionDefinition("Sequential", DisableParallelization = true)]
public sealed class SequentialCollection
{
}
