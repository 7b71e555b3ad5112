using System.Globalization;
using System.Text.Json.Nodes;
using Vepa.Models;

namespace Vepa.Engines;

/// <summary>
/// LoRA adapter sync: write the policy's adapters as a PEFT folder <c>v{version}</c> (into a <c>.partial</c> folder, then renamed), have the
/// engine load it under a versioned name, switch the sampler's requests to that name, unload the previous version, delete old folders.
/// </summary>
/// <remarks>
/// <para><b>vLLM</b> (<c>--enable-lora --max-lora-rank r</c>, <c>VLLM_ALLOW_RUNTIME_LORA_UPDATING=True</c>): <c>POST /v1/load_lora_adapter
/// {"lora_name", "lora_path"}</c> and <c>/v1/unload_lora_adapter {"lora_name"}</c>, answered with plain text on success and vLLM's error
/// JSON (HTTP 400 or 404) otherwise; requests then name the adapter in <c>model</c>.</para>
/// <para><b>SGLang</b> (<c>--enable-lora --max-lora-rank r --lora-target-modules …</c>): <c>POST /load_lora_adapter {"lora_name", "lora_path"}</c>
/// and <c>/unload_lora_adapter {"lora_name"}</c>, answered with <c>{"success", "error_message", …}</c>; requests carry the name in
/// <c>lora_path</c>.</para>
/// <para>The sampler switches to the new name only after the engine loaded it, so no request names an adapter the engine lacks, and no batch
/// is tagged with a version it was not sampled from. One sync at a time (a second concurrent call waits).</para>
/// </remarks>
internal sealed class LoraAdapterSynchronizer : VersionFolderSynchronizer
{
    private readonly LoraSyncOptions _options;
    private readonly Action<long, string> _synced;
    private string? _loaded;

    public LoraAdapterSynchronizer(LoraSyncOptions options, EngineHttp http, EngineKind engine, Action<long, string> synced)
        : base(http, engine)
    {
        _options = options;
        _synced = synced;
    }

    private string LoadPath => Engine == EngineKind.Vllm ? "v1/load_lora_adapter" : "load_lora_adapter";

    private string UnloadPath => Engine == EngineKind.Vllm ? "v1/unload_lora_adapter" : "unload_lora_adapter";

    /// <summary>Gets the adapter name of a version: the prefix, then <c>v</c> and 12 digits (<c>vepa-v000000000003</c>).</summary>
    public static string AdapterName(string prefix, long version) => prefix + FolderName(version);

    protected override async Task PublishAsync(IPolicy policy, long version, CancellationToken cancellationToken)
    {
        var (root, folder, engineFolder) = VersionFolders(_options.AdapterDirectory!, _options.EngineAdapterDirectory, version);
        string name = AdapterName(_options.AdapterNamePrefix, version);
        Write(policy, version, root, folder);
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await CallAsync(LoadPath, new JsonObject { ["lora_name"] = name, ["lora_path"] = engineFolder }, "loading LoRA adapter " + name, cancellationToken).ConfigureAwait(false);
        }
        catch (EngineRequestException e)
        {
            throw new WeightSyncException($"LoRA sync to version {version} failed: the adapter was written to '{folder}', but the engine did not load it as '{name}'. {e.Message}", version, e);
        }

        string? previous = _loaded;
        _loaded = name;
        MarkSynced(version);
        _synced(version, name);
        if (previous is not null && _options.UnloadPrevious)
        {
            try
            {
                await CallAsync(UnloadPath, new JsonObject { ["lora_name"] = previous }, "unloading LoRA adapter " + previous, cancellationToken).ConfigureAwait(false);
            }
            catch (EngineRequestException e)
            {
                throw new WeightSyncException($"LoRA sync to version {version}: the engine serves '{name}' now, but did not unload the previous adapter '{previous}', which still takes one of its adapter slots. {e.Message}", version, e);
            }
        }

        DeleteOldVersions(root, version, _options.KeepVersions);
    }

    private void Write(IPolicy policy, long version, string root, string folder) =>
        WriteVersionFolder(root, folder, version, "LoRA sync", "the adapter", partial =>
        {
            var adapters = policy.GetService(typeof(LoraAdapters)) as LoraAdapters
                ?? throw new NotSupportedException($"The policy ({policy.GetType().Name}) offers no LoraAdapters through GetService; LoRA sync needs a policy trained through LoRA adapters (LoraPolicy). Use FullWeightSyncOptions for full weights.");
            adapters.SavePeft(partial, _options.BaseModelNameOrPath);
        });

    /// <summary>One adapter call: vLLM answers plain text (or its error JSON with a 4xx status); SGLang answers <c>success</c>, which must be true.</summary>
    private async Task CallAsync(string path, JsonObject body, string what, CancellationToken cancellationToken)
    {
        if (Engine == EngineKind.Vllm)
        {
            await Http.PostAsync(path, body, promptIndex: null, what, cancellationToken, plainTextAnswer: true).ConfigureAwait(false);
        }
        else
        {
            await PostExpectingSuccessAsync(path, body, what, cancellationToken).ConfigureAwait(false);
        }
    }
}
