using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.World;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>The run's data: the question-only prior, the held-out set and its visually demanding split, and seeded streams.</summary>
internal sealed class SceneData
{
    public const double MultipleChoiceRate = 0.3;

    /// <summary>How often a pretraining caption's first phrase is about what the instruction names (a base model's weak instruction following).</summary>
    public const double CaptionFocus = 0.3;

    private SceneData(PriorReader prior, IReadOnlyList<VqaItem> heldOut, IReadOnlyList<VqaItem> demanding)
    {
        Prior = prior;
        HeldOut = heldOut;
        Demanding = demanding;
    }

    public PriorReader Prior { get; }

    public IReadOnlyList<VqaItem> HeldOut { get; }

    /// <summary>Gets the held-out items the question-only prior gets wrong (<see cref="VisualDependencyFilter"/>).</summary>
    public IReadOnlyList<VqaItem> Demanding { get; }

    public static async Task<SceneData> CreateAsync(int heldOutItems, CancellationToken cancellationToken)
    {
        var priorRandom = new Random(1001);
        var prior = new PriorReader(Enumerable.Range(0, 4000).Select(_ => QuestionGenerator.Generate(Scene.Random(priorRandom), priorRandom, 0)));
        var heldOutRandom = new Random(2001);
        var heldOut = Enumerable.Range(0, heldOutItems).Select(_ => QuestionGenerator.Generate(Scene.Random(heldOutRandom), heldOutRandom, MultipleChoiceRate)).ToList();
        var demanding = await VisuallyDependentAsync(prior, heldOut, cancellationToken).ConfigureAwait(false);
        return new SceneData(prior, heldOut, demanding);
    }

    public static async Task<List<VqaItem>> VisuallyDependentAsync(IBlindReader prior, IReadOnlyList<VqaItem> items, CancellationToken cancellationToken)
    {
        var filter = new VisualDependencyFilter(prior);
        var results = await filter.EvaluateAsync(items.Select(i => i.ToRequest(string.Empty)).ToList(), cancellationToken).ConfigureAwait(false);
        return items.Where((_, i) => results[i].IsVisuallyDependent).ToList();
    }

    /// <summary>
    /// Caption pretraining batch <paramref name="step"/>: fresh scenes, a random question as the instruction, a coarse caption as the
    /// target. Stream 0 is the shared caption model's; stream s &gt; 0 is seed s's own (<c>--caption-per-seed</c>).
    /// </summary>
    public static IReadOnlyList<SupervisedExample> CaptionBatch(int step, int size, int stream = 0)
    {
        var random = new Random(unchecked((step * 7919) + 17 + (stream * 104_729)));
        return Enumerable.Range(0, size).Select(_ =>
        {
            var scene = Scene.Random(random);
            var question = QuestionGenerator.Generate(scene, random, 0);
            return new SupervisedExample(scene, question.Question, Vocabulary.EvidenceTask, Captions.Coarse(scene, random, question, CaptionFocus));
        }).ToList();
    }

    /// <summary>VEPA prompts for step <paramref name="step"/> of seed <paramref name="seed"/>: visually dependent questions on fresh scenes.</summary>
    public async Task<IReadOnlyList<VqaItem>> VepaPromptsAsync(int seed, int step, int count, CancellationToken cancellationToken)
    {
        var random = new Random(unchecked((seed * 1_000_003) + (step * 7919) + 31));
        var chosen = new List<VqaItem>(count);
        while (chosen.Count < count)
        {
            var candidates = Enumerable.Range(0, 2 * count).Select(_ => QuestionGenerator.Generate(Scene.Random(random), random, MultipleChoiceRate)).ToList();
            chosen.AddRange(await VisuallyDependentAsync(Prior, candidates, cancellationToken).ConfigureAwait(false));
        }

        return chosen.Take(count).ToList();
    }

    /// <summary>The limited QA set of SFT for a seed (the same for SFT and VEPA+SFT).</summary>
    public static IReadOnlyList<VqaItem> SftSet(int seed, int count)
    {
        var random = new Random(unchecked((seed * 1_000_003) + 5003));
        return Enumerable.Range(0, count).Select(_ => QuestionGenerator.Generate(Scene.Random(random), random, MultipleChoiceRate)).ToList();
    }
}
