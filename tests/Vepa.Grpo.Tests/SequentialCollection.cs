namespace Vepa.Grpo.Tests;

/// <summary>Tests that read process-wide state (live tensor counts) run in this collection, never in parallel with others.</summary>
[CollectionDefinition("Sequential", DisableParallelization = true)]
public sealed class SequentialCollection
{
}
