using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using TorchSharp;
using TorchSharp.Modules;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>
/// A trainer checkpoint folder: <c>policy.safetensors</c>, <c>reference.safetensors</c> (β &gt; 0), <c>optimizer.safetensors</c>
/// (AdamW moments), <c>rng.safetensors</c> (the global torch generator) and <c>trainer.json</c> (format, step, AdamW step counts,
/// step-log position, options, run id, and the length and SHA-256 of every file). Written under a temporary name and renamed when complete.
/// </summary>
/// <remarks>
/// <para>Every checkpoint records the id of the run that wrote it. A run never writes into a folder that holds another run's
/// checkpoints (unless told to overwrite them), prunes only its own checkpoints and always keeps the one it just wrote, and
/// resuming from a folder that holds several runs' checkpoints is refused rather than guessed.</para>
/// <para>A process killed while writing leaves a <c>.tmp-step-*</c> folder (and, while replacing a checkpoint of the same step,
/// an <c>.old-step-*</c> one); every write and every trainer start in the folder removes them, first putting back an
/// <c>.old-step-*</c> checkpoint whose replacement never arrived.</para>
/// </remarks>
internal sealed class GrpoCheckpoint : IDisposable
{
    public const string MetadataFile = "trainer.json";
    public const string PolicyFile = "policy.safetensors";
    public const string ReferenceFile = "reference.safetensors";
    public const string OptimizerFile = "optimizer.safetensors";
    public const string RngFile = "rng.safetensors";
    public const string HostOptimizerFile = "optimizer.bin";
    public const string MastersFile = "masters.safetensors";
    public const string AdamWType = "AdamW";

    /// <summary>The run id given to checkpoints written before run ids existed.</summary>
    public const string LegacyRunId = "legacy";
    public const string Format = "vepa.grpo.checkpoint";
    public const int Version = 1;
    private const string FolderPrefix = "step-";
    private const string TempPrefix = ".tmp-";
    private const string OldPrefix = ".old-";

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        WriteIndented = true,
        Converters = { new JsonStringEnumConverter() },
        NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    private GrpoCheckpoint(string directory)
    {
        Directory = directory;
    }

    public string Directory { get; }

    public int Step { get; private set; }

    public Dictionary<string, Tensor> Policy { get; private set; } = [];

    public Dictionary<string, Tensor>? Reference { get; private set; }

    public long[] OptimizerSteps { get; private set; } = [];

    public Tensor[] ExpAvg { get; private set; } = [];

    public Tensor[] ExpAvgSq { get; private set; } = [];

    /// <summary>Gets the float32 master weights of a <see cref="TrainingPrecision.BFloat16"/> run, in the order of the trainable parameters, or <see langword="null"/> when none were saved.</summary>
    public Tensor[]? Masters { get; private set; }

    public Tensor RngState { get; private set; } = null!;

    public long? StepLogLength { get; private set; }

    public string RunId { get; private set; } = LegacyRunId;

    public long Updates { get; private set; }

    public string OptimizerType { get; private set; } = AdamWType;

    /// <summary>Gets the path of the host optimizer's state file, or <see langword="null"/> for AdamW.</summary>
    public string? HostOptimizerPath { get; private set; }

    /// <summary>Gets the options the checkpoint was written with (as saved), or <see langword="null"/>.</summary>
    public JsonNode? SavedOptions { get; private set; }

    /// <summary>
    /// Writes a checkpoint into <paramref name="root"/>/step-NNNNNNNN and prunes the run's old ones; returns its path. Removes stale
    /// temporary folders first and after the write.
    /// </summary>
    /// <exception cref="InvalidOperationException">The folder holds another run's checkpoints and <paramref name="overwrite"/> is <see langword="false"/>.</exception>
    public static string Write(string root, GrpoCheckpointState state, int? keep, bool overwrite)
    {
        System.IO.Directory.CreateDirectory(root);
        CleanTemporaries(root);
        var foreign = ThrowIfForeign(root, state.RunId, overwrite);
        foreach (var other in foreign)
        {
            DeleteCheckpoint(root, other.Path);
        }

        string name = FolderPrefix + state.Step.ToString("D8", CultureInfo.InvariantCulture);
        string final = Path.Combine(root, name);
        string temp = Path.Combine(root, $"{TempPrefix}{name}-{Guid.NewGuid():N}");
        System.IO.Directory.CreateDirectory(temp);
        try
        {
            var files = new JsonObject();
            using (var scope = NewDisposeScope())
            {
                Save(temp, PolicyFile, CpuCopies(state.Policy), files);
                if (state.Reference is not null)
                {
                    Save(temp, ReferenceFile, CpuCopies(state.Reference), files);
                }

                if (state.SaveOptimizer is { } saveOptimizer)
                {
                    string path = Path.Combine(temp, HostOptimizerFile);
                    saveOptimizer(path);
                    files[HostOptimizerFile] = new JsonObject { ["bytes"] = new FileInfo(path).Length, ["sha256"] = Sha256(path) };
                }
                else
                {
                    var optimizer = new Dictionary<string, Tensor>();
                    for (int i = 0; i < state.ExpAvg.Length; i++)
                    {
                        optimizer[$"{i}.exp_avg"] = state.ExpAvg[i].detach().cpu().contiguous();
                        optimizer[$"{i}.exp_avg_sq"] = state.ExpAvgSq[i].detach().cpu().contiguous();
                    }

                    Save(temp, OptimizerFile, optimizer, files);
                }

                Save(temp, RngFile, new Dictionary<string, Tensor> { ["torch"] = state.RngState.cpu().contiguous() }, files);
                if (state.Masters is { } masters)
                {
                    Save(temp, MastersFile, masters.Select((m, i) => (i, m)).ToDictionary(e => e.i.ToString(CultureInfo.InvariantCulture), e => e.m.detach().cpu().contiguous()), files);
                }
            }

            var metadata = new JsonObject
            {
                ["format"] = Format,
                ["version"] = Version,
                ["step"] = state.Step,
                ["run_id"] = state.RunId,
                ["updates"] = state.Updates,
                ["optimizer"] = new JsonObject
                {
                    ["type"] = state.OptimizerType,
                    ["parameters"] = state.ExpAvg.Length,
                    ["steps"] = new JsonArray(state.OptimizerSteps.Select(s => (JsonNode)s).ToArray()),
                },
                ["step_log_length"] = state.StepLogLength,
                ["has_reference"] = state.Reference is not null,
                ["files"] = files,
                ["options"] = JsonSerializer.SerializeToNode(state.Options, JsonOptions),
            };
            string metadataPath = Path.Combine(temp, MetadataFile);
            using (var stream = new FileStream(metadataPath, FileMode.CreateNew, FileAccess.Write))
            {
                using (var writer = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
                {
                    metadata.WriteTo(writer);
                }

                stream.Flush(flushToDisk: true);
            }

            string? previous = null;
            if (System.IO.Directory.Exists(final))
            {
                previous = Path.Combine(root, $"{OldPrefix}{name}-{Guid.NewGuid():N}");
                System.IO.Directory.Move(final, previous);
            }

            System.IO.Directory.Move(temp, final);
            if (previous is not null)
            {
                System.IO.Directory.Delete(previous, recursive: true);
            }
        }
        catch
        {
            if (System.IO.Directory.Exists(temp))
            {
                System.IO.Directory.Delete(temp, recursive: true);
            }

            throw;
        }

        if (keep is int k)
        {
            // Only this run's checkpoints, and never the one just written (a run resumed from an earlier checkpoint of its
            // own may have later ones on disk).
            var prunable = Checkpoints(root)
                .Where(c => c.RunId == state.RunId && !string.Equals(c.Path, final, StringComparison.Ordinal))
                .OrderByDescending(c => c.Step);
            foreach (var old in prunable.Skip(k - 1))
            {
                DeleteCheckpoint(root, old.Path);
            }
        }

        CleanTemporaries(root);
        return final;
    }

    /// <summary>
    /// Deletes a checkpoint folder so that a kill at any moment leaves either the whole checkpoint or none of it: the folder is
    /// first renamed (atomically) to a <c>.tmp-step-*</c> name, which the next start removes, and then deleted. Deleting it in
    /// place could leave a <c>trainer.json</c> whose tensor files are gone, which would pass for a complete checkpoint.
    /// </summary>
    private static void DeleteCheckpoint(string root, string path)
    {
        string doomed = Path.Combine(root, $"{TempPrefix}{Path.GetFileName(path)}-deleted-{Guid.NewGuid():N}");
        System.IO.Directory.Move(path, doomed);
        System.IO.Directory.Delete(doomed, recursive: true);
    }

    /// <summary>
    /// Removes the <c>.tmp-step-*</c> folders a killed write left behind, after putting back an <c>.old-step-*</c> checkpoint whose
    /// replacement was never renamed into place; then removes the remaining <c>.old-step-*</c> folders.
    /// </summary>
    /// <param name="root">The checkpoint folder; nothing happens when it does not exist.</param>
    public static void CleanTemporaries(string root)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return;
        }

        foreach (var old in System.IO.Directory.EnumerateDirectories(root, OldPrefix + FolderPrefix + "*").ToArray())
        {
            string name = Path.GetFileName(old)[OldPrefix.Length..];
            int dash = name.LastIndexOf('-');
            string final = Path.Combine(root, dash > FolderPrefix.Length ? name[..dash] : name);
            if (!System.IO.Directory.Exists(final) && File.Exists(Path.Combine(old, MetadataFile)))
            {
                System.IO.Directory.Move(old, final);
            }
            else
            {
                System.IO.Directory.Delete(old, recursive: true);
            }
        }

        foreach (var temp in System.IO.Directory.EnumerateDirectories(root, TempPrefix + FolderPrefix + "*").ToArray())
        {
            System.IO.Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>Returns the checkpoints of other runs in <paramref name="root"/>; throws when there are any and <paramref name="overwrite"/> is <see langword="false"/>.</summary>
    /// <exception cref="InvalidOperationException">The folder holds another run's checkpoints and overwriting was not asked for.</exception>
    public static IReadOnlyList<(string Path, int Step, string RunId)> ThrowIfForeign(string root, string runId, bool overwrite)
    {
        if (!System.IO.Directory.Exists(root))
        {
            return [];
        }

        var foreign = Checkpoints(root).Where(c => c.RunId != runId).OrderBy(c => c.Step).ToArray();
        if (foreign.Length > 0 && !overwrite)
        {
            throw new InvalidOperationException(
                $"The checkpoint folder {root} holds checkpoints of another run ({Describe(foreign)}), and this run ({runId}) did not resume from them. " +
                "Resume that run (TryResumeAsync / ResumeAsync), choose another CheckpointDirectory, or set GrpoTrainerOptions.OverwriteCheckpoints = true to delete them.");
        }

        return foreign;
    }

    /// <summary>Reads and fully checks a checkpoint against the trainer's policy and optimizer; throws before anything is applied.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is damaged or does not fit, or <paramref name="path"/> is a folder holding several runs' checkpoints.</exception>
    public static GrpoCheckpoint Read(string path, IPolicy policy, IPolicy? reference, Parameter[] parameters, string optimizerType)
    {
        string directory = Resolve(path);
        string metadataPath = Path.Combine(directory, MetadataFile);
        JsonNode metadata;
        try
        {
            metadata = JsonNode.Parse(File.ReadAllBytes(metadataPath))
                ?? throw new InvalidDataException($"{metadataPath}: the file is empty JSON (null).");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"{metadataPath}: not valid JSON ({e.Message}); the checkpoint is corrupted or was not written completely.", e);
        }

        var checkpoint = new GrpoCheckpoint(directory);
        try
        {
            checkpoint.Load(metadataPath, metadata, policy, reference, parameters, optimizerType);
            return checkpoint;
        }
        catch
        {
            checkpoint.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        foreach (var t in Policy.Values)
        {
            t.Dispose();
        }

        foreach (var t in Reference?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }

        foreach (var t in ExpAvg.Concat(ExpAvgSq).Concat(Masters ?? []))
        {
            t.Dispose();
        }

        RngState?.Dispose();
    }

    private void Load(string metadataPath, JsonNode metadata, IPolicy policy, IPolicy? reference, Parameter[] parameters, string optimizerType)
    {
        bool hasReference = reference is not null;
        string? format = Value<string>(metadata, "format", metadataPath);
        if (format != Format)
        {
            throw new InvalidDataException($"{metadataPath}: \"format\" is \"{format}\", expected \"{Format}\"; this is not a Vepa GRPO checkpoint.");
        }

        int version = Value<int>(metadata, "version", metadataPath);
        if (version != Version)
        {
            throw new InvalidDataException($"{metadataPath}: checkpoint format version {version} is not supported (this library reads version {Version}).");
        }

        Step = Value<int>(metadata, "step", metadataPath);
        RunId = metadata["run_id"]?.GetValue<string>() ?? LegacyRunId;
        SavedOptions = metadata["options"]?.DeepClone();
        StepLogLength = metadata["step_log_length"]?.GetValue<long>();
        bool savedReference = Value<bool>(metadata, "has_reference", metadataPath);
        if (savedReference != hasReference)
        {
            throw new InvalidDataException(
                $"{metadataPath}: the checkpoint {(savedReference ? "has" : "has no")} reference model but this trainer {(hasReference ? "keeps one (β > 0)" : "keeps none (β = 0)")}; resume with the β the checkpoint was written with.");
        }

        var files = metadata["files"] as JsonObject ?? throw new InvalidDataException($"{metadataPath}: the \"files\" table is missing.");
        foreach (var (name, entry) in files)
        {
            Verify(Path.Combine(Directory, name), entry, metadataPath);
        }

        Policy = LoadTensors(PolicyFile, files);
        CheckState(Path.Combine(Directory, PolicyFile), Policy, policy.GetState());
        if (hasReference)
        {
            Reference = LoadTensors(ReferenceFile, files);
            CheckState(Path.Combine(Directory, ReferenceFile), Reference, reference!.GetState());
        }

        var optimizerMeta = metadata["optimizer"] ?? throw new InvalidDataException($"{metadataPath}: the \"optimizer\" entry is missing.");
        OptimizerType = Value<string>(optimizerMeta, "type", metadataPath)!;
        if (OptimizerType != optimizerType)
        {
            throw new InvalidDataException(
                $"{metadataPath}: the checkpoint's optimizer is {OptimizerType} but this trainer's is {optimizerType}; resume with the optimizer (GrpoTrainerOptions.OptimizerFactory) the checkpoint was written with.");
        }

        if (files.ContainsKey(MastersFile))
        {
            var masters = LoadTensors(MastersFile, files);
            string mastersPath = Path.Combine(Directory, MastersFile);
            if (masters.Count != parameters.Length)
            {
                throw new InvalidDataException($"{mastersPath}: the checkpoint holds {masters.Count} master weights but the policy has {parameters.Length} trainable parameters; the checkpoint is of another model.");
            }

            Masters = Enumerable.Range(0, parameters.Length)
                .Select(i => Moment(masters, i.ToString(CultureInfo.InvariantCulture), parameters[i], mastersPath)).ToArray();
        }

        var rng = LoadTensors(RngFile, files);
        RngState = rng.TryGetValue("torch", out var state)
            ? state
            : throw new InvalidDataException($"{Path.Combine(Directory, RngFile)}: the tensor \"torch\" (the generator state) is missing.");
        if (OptimizerType != AdamWType)
        {
            HostOptimizerPath = files.ContainsKey(HostOptimizerFile)
                ? Path.Combine(Directory, HostOptimizerFile)
                : throw new InvalidDataException($"{metadataPath}: the file table does not list {HostOptimizerFile} (the state of the {OptimizerType} optimizer).");
            Updates = metadata["updates"]?.GetValue<long>() ?? 0;
            return;
        }

        int count = Value<int>(optimizerMeta, "parameters", metadataPath);
        string optimizerPath = Path.Combine(Directory, OptimizerFile);
        if (count != parameters.Length)
        {
            throw new InvalidDataException($"{optimizerPath}: the optimizer state covers {count} parameters but the policy has {parameters.Length} trainable parameters; the checkpoint is of another model.");
        }

        OptimizerSteps = (optimizerMeta["steps"] as JsonArray ?? throw new InvalidDataException($"{metadataPath}: optimizer.steps is missing."))
            .Select(n => n!.GetValue<long>()).ToArray();
        if (OptimizerSteps.Length != count)
        {
            throw new InvalidDataException($"{metadataPath}: optimizer.steps has {OptimizerSteps.Length} entries, expected {count}.");
        }

        var optimizer = LoadTensors(OptimizerFile, files);
        ExpAvg = new Tensor[count];
        ExpAvgSq = new Tensor[count];
        for (int i = 0; i < count; i++)
        {
            ExpAvg[i] = Moment(optimizer, $"{i}.exp_avg", parameters[i], optimizerPath);
            ExpAvgSq[i] = Moment(optimizer, $"{i}.exp_avg_sq", parameters[i], optimizerPath);
        }

        // Checkpoints written before "updates" existed: AdamW's step count is the number of updates taken.
        Updates = metadata["updates"]?.GetValue<long>() ?? (OptimizerSteps.Length == 0 ? 0 : OptimizerSteps.Max());
    }

    private static Tensor Moment(Dictionary<string, Tensor> tensors, string name, Parameter parameter, string path)
    {
        if (!tensors.TryGetValue(name, out var moment))
        {
            throw new InvalidDataException($"{path}: the tensor \"{name}\" is missing.");
        }

        if (!moment.shape.SequenceEqual(parameter.shape))
        {
            throw new InvalidDataException($"{path}: \"{name}\" is [{string.Join(", ", moment.shape)}] but its parameter is [{string.Join(", ", parameter.shape)}]; the checkpoint is of another model.");
        }

        return moment;
    }

    private static void CheckState(string path, Dictionary<string, Tensor> saved, IReadOnlyDictionary<string, Tensor> expected)
    {
        var problems = new List<string>();
        problems.AddRange(expected.Keys.Where(k => !saved.ContainsKey(k)).Select(k => $"missing \"{k}\""));
        problems.AddRange(saved.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected \"{k}\""));
        foreach (var (name, value) in expected)
        {
            if (saved.TryGetValue(name, out var tensor))
            {
                if (!tensor.shape.SequenceEqual(value.shape))
                {
                    problems.Add($"\"{name}\" is [{string.Join(", ", tensor.shape)}], the model's is [{string.Join(", ", value.shape)}]");
                }
                else if (tensor.dtype != value.dtype)
                {
                    problems.Add($"\"{name}\" is {tensor.dtype}, the model's is {value.dtype}");
                }
            }
        }

        if (problems.Count > 0)
        {
            throw new InvalidDataException($"{path}: the saved state does not fit this policy (a checkpoint of another model?): {string.Join("; ", problems.Take(8))}{(problems.Count > 8 ? $"; and {problems.Count - 8} more" : "")}.");
        }
    }

    private Dictionary<string, Tensor> LoadTensors(string name, JsonObject files)
    {
        string path = Path.Combine(Directory, name);
        if (!files.ContainsKey(name))
        {
            throw new InvalidDataException($"{Path.Combine(Directory, MetadataFile)}: the file table does not list {name}.");
        }

        try
        {
            var loaded = Safetensors.LoadStateDict(path);
            foreach (var t in loaded.Values)
            {
                t.DetachFromDisposeScope();
            }

            return loaded;
        }
        catch (Exception e) when (e is not InvalidDataException)
        {
            throw new InvalidDataException($"{path}: not a readable safetensors file ({e.GetType().Name}: {e.Message}).", e);
        }
    }

    private static void Verify(string path, JsonNode? entry, string metadataPath)
    {
        if (!File.Exists(path))
        {
            throw new InvalidDataException($"{path}: the file is missing (listed in {metadataPath}).");
        }

        long expectedLength = Value<long>(entry!, "bytes", metadataPath);
        string expectedHash = Value<string>(entry!, "sha256", metadataPath)!;
        long length = new FileInfo(path).Length;
        if (length != expectedLength)
        {
            throw new InvalidDataException($"{path}: the file is {length} bytes but {expectedLength} were written; it is truncated or was changed.");
        }

        string hash = Sha256(path);
        if (!string.Equals(hash, expectedHash, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidDataException($"{path}: the SHA-256 is {hash} but {expectedHash} was written; the file is corrupted.");
        }
    }

    private static T Value<T>(JsonNode node, string name, string path)
    {
        try
        {
            var value = node[name];
            return value is null ? throw new InvalidDataException($"{path}: \"{name}\" is missing.") : value.GetValue<T>();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"{path}: \"{name}\" is not a {typeof(T).Name} ({e.Message}).", e);
        }
    }

    /// <summary>Whether <paramref name="path"/> is a checkpoint folder or a folder holding at least one complete checkpoint.</summary>
    public static bool Exists(string path)
        => File.Exists(Path.Combine(path, MetadataFile)) || (System.IO.Directory.Exists(path) && Checkpoints(path).Any());

    private static string Resolve(string path)
    {
        if (File.Exists(Path.Combine(path, MetadataFile)))
        {
            return path;
        }

        if (!System.IO.Directory.Exists(path))
        {
            throw new FileNotFoundException($"No checkpoint at {path}: the folder does not exist.", path);
        }

        var checkpoints = Checkpoints(path).ToArray();
        var runs = checkpoints.Select(c => c.RunId).Distinct(StringComparer.Ordinal).ToArray();
        if (runs.Length > 1)
        {
            throw new InvalidDataException(
                $"The checkpoint folder {path} holds checkpoints of {runs.Length} runs ({Describe(checkpoints)}); resuming the newest step could pick " +
                "another run's. Pass the path of the checkpoint folder to resume (for example {path}/step-NNNNNNNN), or move the other run's checkpoints away.");
        }

        var newest = checkpoints.OrderByDescending(c => c.Step).FirstOrDefault();
        return newest.Path ?? throw new FileNotFoundException(
            $"No checkpoint at {path}: it holds no {MetadataFile} and no complete {FolderPrefix}NNNNNNNN checkpoint folder.", path);
    }

    private static IEnumerable<(string Path, int Step, string RunId)> Checkpoints(string root)
    {
        foreach (var folder in System.IO.Directory.EnumerateDirectories(root, FolderPrefix + "*"))
        {
            string name = System.IO.Path.GetFileName(folder);
            string metadata = System.IO.Path.Combine(folder, MetadataFile);
            if (int.TryParse(name.AsSpan(FolderPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int step) && File.Exists(metadata))
            {
                yield return (folder, step, ReadRunId(metadata));
            }
        }
    }

    /// <summary>The run id recorded in a trainer.json; <see cref="LegacyRunId"/> when it has none, and the file's own name when it cannot be parsed (so a damaged checkpoint never passes for this run's).</summary>
    private static string ReadRunId(string metadataPath)
    {
        try
        {
            return JsonNode.Parse(File.ReadAllBytes(metadataPath))?["run_id"]?.GetValue<string>() ?? LegacyRunId;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or IOException)
        {
            return $"unreadable:{metadataPath}";
        }
    }

    private static string Describe(IEnumerable<(string Path, int Step, string RunId)> checkpoints)
        => string.Join("; ", checkpoints.GroupBy(c => c.RunId, StringComparer.Ordinal)
            .Select(g => $"run {g.Key}: {string.Join(", ", g.OrderBy(c => c.Step).Select(c => System.IO.Path.GetFileName(c.Path)))}"));

    private static Dictionary<string, Tensor> CpuCopies(IReadOnlyDictionary<string, Tensor> state)
        => state.ToDictionary(e => e.Key, e => e.Value.detach().cpu().contiguous(), StringComparer.Ordinal);

    private static void Save(string folder, string name, Dictionary<string, Tensor> tensors, JsonObject files)
    {
        string path = Path.Combine(folder, name);
        using (var stream = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            Safetensors.SaveStateDict(stream, tensors, leaveOpen: true);
            stream.Flush(flushToDisk: true);
        }

        files[name] = new JsonObject { ["bytes"] = new FileInfo(path).Length, ["sha256"] = Sha256(path) };
    }

    private static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }
}
