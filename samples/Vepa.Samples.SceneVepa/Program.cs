using Vepa.Samples.SceneVepa;
using System.Diagnostics;
using TorchSharp;
using Vepa.Rewards;
using Vepa.Samples.SceneVepa.Model;
using Vepa.Samples.SceneVepa.Reading;
using Vepa.Samples.SceneVepa.Stages;
using Vepa.Samples.SceneVepa.World;
using static TorchSharp.torch;

torch.set_num_threads(1);
torch.manual_seed(1);
var random = new Random(1);
var sw = Stopwatch.StartNew();
var model = new SceneVlm(new VlmSize(), new Generator(1));
Console.WriteLine($"vocab {Vocabulary.Size}, params {model.parameters().Sum(p => p.numel())}");
int capSteps = int.Parse(args[0], CultureInfo.InvariantCulture);
string ck = $"/tmp/cap{capSteps}.bin";
if (File.Exists(ck)) { model.load(ck); } else {
double loss = Supervised.Train(model, capSteps, _ =>
{
    var list = new List<SupervisedExample>();
    for (int i = 0; i < 64; i++)
    {
        var s = Scene.Random(random);
        var q = QuestionGenerator.Generate(s, random, 0);
        list.Add(new SupervisedExample(s, q.Question, Vocabulary.EvidenceTask, Captions.Coarse(s, random)));
    }
    return list;
}, double.Parse(args[1], CultureInfo.InvariantCulture), (s, l) => { if (s % 100 == 0) Console.WriteLine($"{s} {l:F3} {sw.Elapsed.TotalSeconds:F1}s"); }, default);
Console.WriteLine($"caption loss {loss:F3} in {sw.Elapsed.TotalSeconds:F1}s"); model.save(ck); }
async Task Eval() {
var evalRandom = new Random(99);
var items = Enumerable.Range(0, 400).Select(_ => QuestionGenerator.Generate(Scene.Random(evalRandom), evalRandom, 0.3)).ToList();
var images = Batches.Images(items.Select(i => i.Scene).ToList());
var ev = Decoding.Greedy(model, images, items.Select(i => i.Question).ToList(), Vocabulary.EvidenceTask, 16);
foreach (var strict in new[] { false, true })
{
    var reward = new SufficiencyRewardModel(new SceneBlindReader(strict));
    var res = await reward.ScoreAsync(items.Select((it, i) => it.ToRequest(ev[i])).ToList());
    Console.WriteLine($"strict={strict} mean R {res.Average(r => r.Value):F3}");
    foreach (var fam in QuestionGenerator.Families)
        Console.WriteLine($"  {fam}: {items.Select((it, i) => (it, res[i])).Where(x => x.it.Family == fam).Average(x => x.Item2.Value):F3}");
}
for (int i = 0; i < 8; i++) Console.WriteLine($"{items[i].Question} [{items[i].Gold}] -> {ev[i]}   truth: {string.Join(", ", items[i].Scene.Objects.Select(o => o.Phrase))}");
Console.WriteLine($"{sw.Elapsed.TotalSeconds:F1}s");
}
await Eval();
if (args.Length > 2) {
var reward0 = new SufficiencyRewardModel(new SceneBlindReader(false));
var vr = new Random(5);
await Lab.RunAsync(model, reward0, _ => Enumerable.Range(0, int.Parse(args[3], CultureInfo.InvariantCulture)).Select(_ => QuestionGenerator.Generate(Scene.Random(vr), vr, 0.3)).ToList(), int.Parse(args[2], CultureInfo.InvariantCulture), double.Parse(args[4], CultureInfo.InvariantCulture), 4, new Generator(3));
await Eval();
}
