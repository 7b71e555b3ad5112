using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// The LoRA adapters of one model, as PEFT applies them: every targeted linear layer computes
/// y = W x + b + (α / r) · B A dropout(x); the base weights are frozen and only A and B train. The adapters can be switched off
/// (the base model, GRPO's reference), merged into W for export, and saved in PEFT's format for vLLM, SGLang and PEFT itself.
/// </summary>
/// <remarks>
/// <para><b>Which layers.</b> Vepa's Qwen linear layers (the decoders of <see cref="QwenForCausalLM"/> and
/// <see cref="Qwen2VLForConditionalGeneration"/>, and so any <see cref="QwenPolicy"/>) and <see cref="AdaptableLinear"/> layers in
/// your own module take adapters in place. TorchSharp's sealed <c>Linear</c> cannot be extended or swapped behind a typed field, so a
/// target that resolves to one (or to any other module) is rejected with an error naming it.</para>
/// <para><b>State names.</b> The adapters are children of their layer: <c>model.layers.0.self_attn.q_proj.lora_A.weight</c> in
/// <c>state_dict()</c> (and the policy's state and checkpoints); <see cref="SavePeft"/> writes them with PEFT's prefix
/// <c>base_model.model.</c>. A Hugging Face snapshot save (<see cref="QwenForCausalLM.SavePretrained"/>) leaves them out, and
/// refuses while they are switched on and not merged (the snapshot would silently lack them): <see cref="Merge"/> first to export the
/// adapted model, or save inside <see cref="DisableAdapters"/> for the base.</para>
/// <para>Not thread-safe: switching adapters off or merging changes what every forward pass of the model computes.</para>
/// </remarks>
public sealed class LoraAdapters
{
    /// <summary>The file name of PEFT's adapter configuration.</summary>
    public const string ConfigFileName = "adapter_config.json";

    /// <summary>The file name of PEFT's adapter weights.</summary>
    public const string WeightsFileName = "adapter_model.safetensors";

    /// <summary>The prefix PEFT puts before a module path in the adapter file (<c>PeftModel.base_model.model</c>).</summary>
    public const string PeftKeyPrefix = "base_model.model.";

    private readonly LoraLayer[] _layers;
    private readonly LoraOptions _options;
    private int _disabled;

    private LoraAdapters(nn.Module model, LoraLayer[] layers, LoraOptions options)
    {
        Model = model;
        _layers = layers;
        _options = options;
        TrainableParameters = layers.SelectMany(l => new[] { l.A.weight!, l.B.weight! }).ToArray();
        ModulePaths = layers.Select(l => l.Path).ToArray();
    }

    /// <summary>Gets the model the adapters are applied to.</summary>
    public nn.Module Model { get; }

    /// <summary>Gets a copy of the settings.</summary>
    public LoraOptions Options => _options.Clone();

    /// <summary>Gets the scale α / r of the adapters' output.</summary>
    public double Scaling => _options.Alpha / _options.Rank;

    /// <summary>Gets the module paths of the adapted layers, in the model's module order.</summary>
    public IReadOnlyList<string> ModulePaths { get; }

    /// <summary>Gets the adapters' parameters (A then B of each layer, in <see cref="ModulePaths"/> order): the only parameters that train.</summary>
    public IReadOnlyList<Parameter> TrainableParameters { get; }

    /// <summary>Gets whether the adapters are added to the layers' outputs (not switched off by <see cref="DisableAdapters"/>).</summary>
    public bool Enabled => _disabled == 0;

    /// <summary>Gets whether the adapters are merged into the base weights (<see cref="Merge"/>).</summary>
    public bool IsMerged { get; private set; }

    /// <summary>Adds LoRA adapters to every linear layer of <paramref name="model"/> that the options target, and freezes every other parameter.</summary>
    /// <param name="model">The model (a <see cref="QwenForCausalLM"/>, a <see cref="Qwen2VLForConditionalGeneration"/>, or a policy module holding one). Module paths are taken from it.</param>
    /// <param name="options">The settings (copied); <see langword="null"/> uses the defaults (r = 8, α = 8, Qwen's seven projections).</param>
    /// <returns>The adapters; the model owns their parameters (disposing the model disposes them).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="model"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">An option is invalid, no module matches the targets, a matched module is not a Vepa linear layer (a Qwen projection or an <see cref="AdaptableLinear"/>) or is the LM head, or a matched layer already has an adapter.</exception>
    /// <remarks>Every parameter of the model gets <c>requires_grad = false</c> (PEFT's <c>bias="none"</c>: biases stay frozen too); the new A and B are trainable, in the dtype and on the device of their layer's weight.</remarks>
    public static LoraAdapters Apply(nn.Module model, LoraOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(model);
        options = options?.Clone() ?? new LoraOptions();
        options.Validate();
        var targets = new List<(string Path, ILoraHost Layer)>();
        var rejected = new List<string>();
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        foreach (var (path, module) in model.named_modules())
        {
            if (path.Length == 0 || !options.IsTarget(path) || !seen.Add(module))
            {
                continue;
            }

            if (module is ILoraHost head && ReferenceEquals(head.Weight, HeadWeight(model)))
            {
                throw new ArgumentException(
                    $"The LM head '{path}' cannot take a LoRA adapter: policies read its weight directly (the fused log-prob kernel), so the adapter would be ignored. Narrow TargetModules or TargetModulesPattern.",
                    nameof(options));
            }

            if (module is ILoraHost linear)
            {
                if (linear.Lora is not null)
                {
                    throw new ArgumentException($"The layer '{path}' already has a LoRA adapter; apply adapters to a model once.", nameof(model));
                }

                targets.Add((path, linear));
            }
            else
            {
                rejected.Add($"'{path}' ({module.GetType().Name})");
            }
        }

        if (rejected.Count > 0)
        {
            throw new ArgumentException(
                $"LoRA targets must be Vepa linear layers (the Qwen decoders' projections, or AdaptableLinear in your own module); these matched modules are not: {string.Join(", ", rejected.Take(8))}{(rejected.Count > 8 ? $" and {rejected.Count - 8} more" : "")}. Build your module's layers with AdaptableLinear instead of nn.Linear, or narrow TargetModules or TargetModulesPattern.",
                nameof(options));
        }

        if (targets.Count == 0)
        {
            string wanted = options.TargetModulesPattern is { } pattern ? $"TargetModulesPattern \"{pattern}\"" : $"TargetModules [{string.Join(", ", options.TargetModules)}]";
            throw new ArgumentException($"No module of {model.GetType().Name} matches {wanted}.", nameof(options));
        }

        foreach (var parameter in model.parameters())
        {
            parameter.requires_grad = false;
        }

        using var generator = options.Seed is long seed ? new Generator(unchecked((ulong)seed), targets[0].Layer.Weight.device) : null;
        var layers = new LoraLayer[targets.Count];
        for (int i = 0; i < targets.Count; i++)
        {
            var (path, linear) = targets[i];
            layers[i] = new LoraLayer(path, linear.Weight, options, generator);
            linear.Attach(layers[i]);
        }

        return new LoraAdapters(model, layers, options);
    }

    /// <summary>Switches the adapters off until the returned scope is disposed: the model computes its base output exactly (GRPO's reference, TRL's <c>disable_adapter()</c>).</summary>
    /// <returns>A scope that switches them back on when disposed (scopes nest).</returns>
    /// <exception cref="InvalidOperationException">The adapters are merged; <see cref="Unmerge"/> first.</exception>
    public IDisposable DisableAdapters()
    {
        if (IsMerged)
        {
            throw new InvalidOperationException("The LoRA adapters are merged into the base weights, so they cannot be switched off; call Unmerge first.");
        }

        _disabled++;
        Refresh();
        return new EnableScope(this);
    }

    /// <summary>Adds (α / r) · B A to each adapted layer's weight W and stops adding the adapters at run time: the model alone then computes the adapted output (for export with a Hugging Face save).</summary>
    /// <exception cref="InvalidOperationException">The adapters are already merged, or switched off.</exception>
    /// <remarks>For half-precision weights, ΔW and W + ΔW are formed in float32 and rounded once into W (in the weight's dtype otherwise).</remarks>
    public void Merge()
    {
        if (IsMerged || !Enabled)
        {
            throw new InvalidOperationException(IsMerged ? "The LoRA adapters are already merged." : "The LoRA adapters are switched off; merge them after the DisableAdapters scope ends.");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int merged = 0;
        try
        {
            for (; merged < _layers.Length; merged++)
            {
                AddDelta(_layers[merged], sign: 1);
            }
        }
        catch
        {
            // All or nothing: a layer left merged while the adapters still run would add its ΔW twice.
            for (int i = merged - 1; i >= 0; i--)
            {
                AddDelta(_layers[i], sign: -1);
            }

            throw;
        }

        IsMerged = true;
        Refresh();
    }

    /// <summary>Subtracts (α / r) · B A from each adapted layer's weight again and resumes adding the adapters at run time.</summary>
    /// <exception cref="InvalidOperationException">The adapters are not merged.</exception>
    /// <remarks>The restored W differs from the original by the rounding of the two sums only: in bfloat16, up to half a unit in the last place of W + ΔW plus half of W.</remarks>
    public void Unmerge()
    {
        if (!IsMerged)
        {
            throw new InvalidOperationException("The LoRA adapters are not merged.");
        }

        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        int unmerged = 0;
        try
        {
            for (; unmerged < _layers.Length; unmerged++)
            {
                AddDelta(_layers[unmerged], sign: -1);
            }
        }
        catch
        {
            // All or nothing, as Merge: a retry must not subtract ΔW twice from the layers already done.
            for (int i = unmerged - 1; i >= 0; i--)
            {
                AddDelta(_layers[i], sign: 1);
            }

            throw;
        }

        IsMerged = false;
        Refresh();
    }

    /// <summary>Gets the adapters' tensors under PEFT's names: <c>base_model.model.&lt;module path&gt;.lora_A.weight</c> and <c>.lora_B.weight</c>.</summary>
    /// <returns>A new dictionary of the live tensors (do not dispose them), in <see cref="ModulePaths"/> order.</returns>
    public IReadOnlyDictionary<string, Tensor> GetPeftState()
    {
        var state = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        foreach (var layer in _layers)
        {
            state[PeftKeyPrefix + layer.Path + ".lora_A.weight"] = layer.A.weight!;
            state[PeftKeyPrefix + layer.Path + ".lora_B.weight"] = layer.B.weight!;
        }

        return state;
    }

    /// <summary>
    /// Saves the adapters as a PEFT adapter folder: <see cref="ConfigFileName"/> (<c>peft_type</c> LORA, <c>r</c>, <c>lora_alpha</c>,
    /// <c>lora_dropout</c>, <c>target_modules</c>, <c>base_model_name_or_path</c>, <c>bias</c> none, <c>task_type</c> CAUSAL_LM,
    /// <c>fan_in_fan_out</c> false, …) and <see cref="WeightsFileName"/> with PEFT's key names, in the adapters' dtype. vLLM's
    /// <c>/v1/load_lora_adapter</c>, SGLang's <c>/load_lora_adapter</c> and PEFT's <c>PeftModel.from_pretrained</c> load it.
    /// </summary>
    /// <param name="directory">The folder (created if needed); the two files there are replaced.</param>
    /// <param name="baseModelNameOrPath">The base model's name or folder written as <c>base_model_name_or_path</c>; <see langword="null"/> uses the model's <c>SourceFolder</c> when it has one.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is <see langword="null"/> or blank.</exception>
    /// <exception cref="InvalidOperationException">The adapters are merged (the saved A and B would be applied twice on top of merged weights).</exception>
    /// <remarks>The weights file is written to a temporary name and renamed, so a reader never sees a partial file. Safe to call between training steps.</remarks>
    public void SavePeft(string directory, string? baseModelNameOrPath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        if (IsMerged)
        {
            throw new InvalidOperationException("The LoRA adapters are merged into the base weights; Unmerge before saving them as a PEFT adapter.");
        }

        Directory.CreateDirectory(directory);

        // Each file is written under a temporary name and renamed, so a reader never sees half of one. The writer copies each tensor
        // to the host itself, one at a time.
        string weights = Path.Combine(directory, WeightsFileName);
        SafetensorsCheckpoint.WriteFile(weights + ".tmp", [.. GetPeftState()]);
        File.Move(weights + ".tmp", weights, overwrite: true);
        string config = Path.Combine(directory, ConfigFileName);
        File.WriteAllText(config + ".tmp", PeftConfig(baseModelNameOrPath ?? SourceFolder()).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
        File.Move(config + ".tmp", config, overwrite: true);
    }

    /// <summary>Loads A and B from a PEFT adapter folder written for these adapters (the same layers, rank and α).</summary>
    /// <param name="directory">The folder with <see cref="ConfigFileName"/> and <see cref="WeightsFileName"/>.</param>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is <see langword="null"/> or blank.</exception>
    /// <exception cref="SnapshotFormatException">A file is missing or invalid, the config's <c>peft_type</c>, <c>r</c> or <c>lora_alpha</c> differs from these adapters', or a tensor is missing, unexpected or mis-shaped (the message names it).</exception>
    /// <exception cref="InvalidOperationException">The adapters are merged (a later <see cref="Unmerge"/> would subtract the new ΔW from weights that hold the old one).</exception>
    public void LoadPeft(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        ThrowIfMerged("load adapter weights");
        var config = ReadConfig(directory);
        string configPath = Path.Combine(directory, ConfigFileName);
        if (config.Rank != _options.Rank || config.Alpha != _options.Alpha)
        {
            throw new SnapshotFormatException(
                string.Create(CultureInfo.InvariantCulture, $"'{configPath}' has r = {config.Rank}, lora_alpha = {config.Alpha}; these adapters have r = {_options.Rank}, lora_alpha = {_options.Alpha}."),
                configPath,
                null);
        }

        string weights = Path.Combine(directory, WeightsFileName);
        if (!File.Exists(weights))
        {
            throw new SnapshotFormatException($"The adapter folder '{directory}' has no {WeightsFileName}.", weights, null);
        }

        var file = SafetensorsFile.Open(weights);
        var targets = GetPeftState();
        var problems = targets.Keys.Where(k => !file.Entries.ContainsKey(k)).Select(k => $"missing '{k}'")
            .Concat(file.Entries.Keys.Where(k => !targets.ContainsKey(k)).Select(k => $"unexpected '{k}'"))
            .Concat(targets.Where(t => file.Entries.TryGetValue(t.Key, out var e) && !e.Shape.SequenceEqual(t.Value.shape))
                .Select(t => $"'{t.Key}' is [{string.Join(", ", file.Entries[t.Key].Shape)}], expected [{string.Join(", ", t.Value.shape)}]"))
            .ToList();
        if (problems.Count > 0)
        {
            throw new SnapshotFormatException($"'{weights}' does not fit these adapters: {string.Join("; ", problems.Take(8))}{(problems.Count > 8 ? $"; and {problems.Count - 8} more" : "")}.", weights, null);
        }

        using var handle = File.OpenHandle(weights, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
        foreach (var (name, target) in targets)
        {
            file.ReadInto(handle, file.Entries[name], target);
        }
    }

    /// <summary>Reads a PEFT adapter folder's settings into <see cref="LoraOptions"/> (<c>r</c>, <c>lora_alpha</c>, <c>lora_dropout</c>, <c>target_modules</c> as a list or a pattern).</summary>
    /// <param name="directory">The folder with <see cref="ConfigFileName"/>.</param>
    /// <returns>New options; <see cref="Apply"/> them to the base model, then <see cref="LoadPeft"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="directory"/> is <see langword="null"/> or blank.</exception>
    /// <exception cref="SnapshotFormatException">The file is missing or not a LoRA config, or a field is missing or of the wrong type (the message names it).</exception>
    public static LoraOptions ReadPeftOptions(string directory)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(directory);
        return ReadConfig(directory).Options;
    }

    private static Tensor? HeadWeight(nn.Module model) => model switch
    {
        Grpo.PolicyModule module => module.LmHeadWeight,
        QwenForCausalLM lm => lm.LmHeadWeight,
        Qwen2VLForConditionalGeneration vl => vl.LmHeadWeight,
        _ => null,
    };

    /// <summary>
    /// Throws when <paramref name="model"/> has LoRA adapters that are switched on and not merged: a Hugging Face snapshot holds
    /// the base weights only, so saving it would silently drop what the adapters learned.
    /// </summary>
    /// <exception cref="InvalidOperationException">An adapter is active; the message names it and the three ways out.</exception>
    internal static void ThrowIfActiveAdapters(nn.Module model)
    {
        var active = model.named_modules().Where(m => m.module is ILoraHost { Lora.Active: true }).Select(m => m.name).ToList();
        if (active.Count > 0)
        {
            throw new InvalidOperationException(
                $"Cannot save a Hugging Face snapshot: {active.Count} LoRA adapter(s) (first '{active[0]}') are switched on and not merged, so the "
                + "snapshot would hold the base weights without what the adapters learned. Call LoraAdapters.Merge() before the save to export "
                + "the adapted model (Unmerge() after it to train on), save the adapters with LoraAdapters.SavePeft, or save inside "
                + "LoraAdapters.DisableAdapters() to write the base weights.");
        }
    }

    /// <summary>Throws while the adapters are merged, naming what cannot be done then.</summary>
    internal void ThrowIfMerged(string action)
    {
        if (IsMerged)
        {
            throw new InvalidOperationException($"The LoRA adapters are merged into the base weights; Unmerge before you {action}.");
        }
    }

    /// <summary>W ← round(W ± ΔW), the sum formed in float32 for half-precision weights so W is rounded once.</summary>
    private static void AddDelta(LoraLayer layer, int sign)
    {
        var weight = layer.BaseWeight;
        var type = weight.dtype is ScalarType.Float16 or ScalarType.BFloat16 ? ScalarType.Float32 : weight.dtype;
        weight.copy_(weight.to(type).add(layer.Delta(type), alpha: sign));
    }

    private static (int Rank, double Alpha, LoraOptions Options) ReadConfig(string directory)
    {
        string path = Path.Combine(directory, ConfigFileName);
        if (!File.Exists(path))
        {
            throw new SnapshotFormatException($"The adapter folder '{directory}' has no {ConfigFileName}.", path, null);
        }

        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(path)) ?? throw new JsonException("the document is null");
        }
        catch (JsonException e)
        {
            throw new SnapshotFormatException($"'{path}' is not valid JSON: {e.Message}", path, null, e);
        }

        try
        {
            string? type = root["peft_type"]?.GetValue<string>();
            if (type != "LORA")
            {
                throw new SnapshotFormatException($"'{path}' has peft_type \"{type}\"; only LORA adapters are supported.", path, null);
            }

            ThrowIfUnsupported(root, path);
            var options = new LoraOptions
            {
                Rank = root["r"]?.GetValue<int>() ?? throw new SnapshotFormatException($"'{path}' has no \"r\".", path, null),
                Alpha = root["lora_alpha"]?.GetValue<double>() ?? throw new SnapshotFormatException($"'{path}' has no \"lora_alpha\".", path, null),
                Dropout = root["lora_dropout"]?.GetValue<double>() ?? 0,
                TargetModules = root["target_modules"] is JsonArray list
                    ? [.. list.Select(n => n?.GetValue<string>() ?? throw new SnapshotFormatException($"'{path}' has a null entry in \"target_modules\".", path, null))]
                    : [],
                TargetModulesPattern = root["target_modules"] is JsonValue pattern ? pattern.GetValue<string>() : null,
            };
            return (options.Rank, options.Alpha, options);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException)
        {
            throw new SnapshotFormatException($"'{path}' has a field of the wrong type: {e.Message}", path, null, e);
        }
    }

    /// <summary>
    /// Refuses the PEFT features these adapters do not implement, which would otherwise load and compute something else: rsLoRA's
    /// α/√r scale, DoRA, transposed weights, per-module ranks or alphas, trained biases, extra trained modules, or adapters on some layers only.
    /// </summary>
    private static void ThrowIfUnsupported(JsonNode root, string path)
    {
        var problems = new List<string>();
        foreach (string flag in new[] { "use_rslora", "use_dora", "fan_in_fan_out" })
        {
            if (root[flag] is JsonValue value && value.TryGetValue(out bool on) && on)
            {
                problems.Add($"{flag} is true");
            }
        }

        foreach (string map in new[] { "rank_pattern", "alpha_pattern" })
        {
            if (root[map] is JsonObject entries && entries.Count > 0)
            {
                problems.Add($"{map} is not empty");
            }
        }

        if (root["bias"] is JsonValue bias && bias.TryGetValue(out string? kind) && kind != "none")
        {
            problems.Add($"bias is \"{kind}\"");
        }

        foreach (string field in new[] { "modules_to_save", "layers_to_transform" })
        {
            if (root[field] is { } node && node.GetValueKind() != JsonValueKind.Null)
            {
                problems.Add($"{field} is set");
            }
        }

        if (problems.Count > 0)
        {
            throw new SnapshotFormatException(
                $"'{path}' asks for PEFT features these adapters do not implement ({string.Join("; ", problems)}); only plain LoRA (α / r scale, one rank and alpha, bias \"none\") loads.",
                path,
                null);
        }
    }

    private JsonObject PeftConfig(string? baseModel)
    {
        JsonNode targets = _options.TargetModulesPattern is { } pattern
            ? JsonValue.Create(pattern)
            : new JsonArray(_options.TargetModules.Select(t => (JsonNode?)JsonValue.Create(t)).ToArray());

        // PEFT's LoraConfig fields for plain LoRA (no DoRA, no rsLoRA, no per-layer ranks); readers take the defaults for the rest.
        return new JsonObject
        {
            ["alpha_pattern"] = new JsonObject(),
            ["base_model_name_or_path"] = baseModel,
            ["bias"] = "none",
            ["fan_in_fan_out"] = false,
            ["inference_mode"] = true,
            ["init_lora_weights"] = true,
            ["layers_pattern"] = null,
            ["layers_to_transform"] = null,
            ["lora_alpha"] = _options.Alpha,
            ["lora_dropout"] = _options.Dropout,
            ["modules_to_save"] = null,
            ["peft_type"] = "LORA",
            ["r"] = _options.Rank,
            ["rank_pattern"] = new JsonObject(),
            ["revision"] = null,
            ["target_modules"] = targets,
            ["task_type"] = "CAUSAL_LM",
            ["use_dora"] = false,
            ["use_rslora"] = false,
        };
    }

    private string? SourceFolder() => Model switch
    {
        QwenForCausalLM lm => lm.SourceFolder,
        Qwen2VLForConditionalGeneration vl => vl.SourceFolder,
        QwenCausalPolicyModule module => module.Model.SourceFolder,
        QwenVLPolicyModule module => module.Model.SourceFolder,
        _ => null,
    };

    private void Refresh()
    {
        bool active = Enabled && !IsMerged;
        foreach (var layer in _layers)
        {
            layer.Active = active;
        }
    }

    private sealed class EnableScope(LoraAdapters owner) : IDisposable
    {
        private LoraAdapters? _owner = owner;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _owner, null) is { } adapters)
            {
                adapters._disabled--;
                adapters.Refresh();
            }
        }
    }
}
