using System.Globalization;
using System.Text.Json.Nodes;
using Vepa.Models;

namespace Vepa.Engines;

/// <summary>The engine a synchronizer talks to.</summary>
internal enum EngineKind
{
    /// <summary>vLLM: the served folder is a symbolic link that is re-pointed, then <c>/collective_rpc reload_weights</c>.</summary>
    Vllm,

    /// <summary>SGLang: <c>/update_weights_from_disk</c> with the new folder.</summary>
    Sglang,
}

/// <summary>
/// Full-weight sync through Hugging Face snapshots on disk: write <c>v{version}</c> (into a <c>.partial</c> folder, then renamed, so the
/// engine never sees half a snapshot), have the engine load it, then delete the oldest version folders.
/// </summary>
/// <remarks>
/// <para><b>SGLang</b>: <c>POST /update_weights_from_disk {"model_path", "weight_version", "flush_cache": true}</c>; the answer's
/// <c>success</c> must be <see langword="true"/>.</para>
/// <para><b>vLLM</b> reloads from the path it was started with, so it must serve <c>{SnapshotDirectory}/current</c>, a symbolic link this
/// class re-points atomically (rename over the old link) to the new version: <c>POST /pause?mode=wait</c> (optional), re-point,
/// <c>POST /collective_rpc {"method": "reload_weights"}</c>, <c>POST /reset_prefix_cache</c>, <c>POST /resume</c>. These are vLLM's
/// development endpoints (<c>VLLM_SERVER_DEV_MODE=1</c>).</para>
/// <para>One sync at a time (a second concurrent call waits).</para>
/// </remarks>
internal sealed class FullWeightSynchronizer : VersionFolderSynchronizer
{
    /// <summary>The name of the symbolic link vLLM serves.</summary>
    public const string CurrentLinkName = "current";

    private readonly FullWeightSyncOptions _options;
    private readonly Action<long> _synced;

    public FullWeightSynchronizer(FullWeightSyncOptions options, EngineHttp http, EngineKind engine, Action<long> synced)
        : base(http, engine)
    {
        _options = options;
        _synced = synced;
    }

    protected override async Task PublishAsync(IPolicy policy, long version, CancellationToken cancellationToken)
    {
        var (root, folder, engineFolder) = VersionFolders(_options.SnapshotDirectory!, _options.EngineSnapshotDirectory, version);
        Write(policy, version, root, folder);
        cancellationToken.ThrowIfCancellationRequested();
        EngineRequestException? resumeFailure = null;
        try
        {
            if (Engine == EngineKind.Sglang)
            {
                await ReloadSglangAsync(engineFolder, version, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                resumeFailure = await ReloadVllmAsync(root, version, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (EngineRequestException e)
        {
            throw new WeightSyncException($"Weight sync to version {version} failed: the snapshot was written to '{folder}', but the engine did not load it. {e.Message}", version, e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new WeightSyncException($"Weight sync to version {version} failed: the snapshot was written to '{folder}', but the link the engine serves could not be re-pointed: {e.GetType().Name}: {e.Message}", version, e);
        }

        MarkSynced(version);
        _synced(version);
        if (resumeFailure is not null)
        {
            // The engine holds the new weights (so the version is marked synced), but it no longer generates: the run must stop.
            throw new WeightSyncException($"Weight sync to version {version}: the engine loaded it, but resuming generation afterwards failed, so the engine is left paused. {resumeFailure.Message}", version, resumeFailure);
        }

        DeleteOldVersions(root, version, _options.KeepVersions);
    }

    private void Write(IPolicy policy, long version, string root, string folder) =>
        WriteVersionFolder(root, folder, version, "Weight sync", "the snapshot", partial =>
        {
            (_options.WriteSnapshot ?? WriteQwenSnapshot)(policy, partial);
            if (!File.Exists(Path.Combine(partial, "config.json")) || !Directory.EnumerateFiles(partial, "*.safetensors").Any())
            {
                throw new InvalidDataException($"The snapshot writer left no config.json or no *.safetensors file in '{partial}'.");
            }
        });

    /// <summary>The default writer: a Qwen policy or model found through the policy's services, saved with Hugging Face names.</summary>
    private static void WriteQwenSnapshot(IPolicy policy, string folder)
    {
        if (policy.GetService(typeof(LoraAdapters)) is LoraAdapters { IsMerged: false, Enabled: true })
        {
            throw new NotSupportedException(
                $"The policy ({policy.GetType().Name}) trains LoRA adapters, and a full-weight snapshot holds the base weights without them: the engine "
                + "would keep sampling the untrained model. Sync the adapters instead (EngineSamplerOptions.LoraSync), or set "
                + "FullWeightSyncOptions.WriteSnapshot to write merged weights yourself.");
        }

        switch (policy.GetService(typeof(QwenPolicy)) ?? policy.GetService(typeof(QwenForCausalLM)) ?? policy.GetService(typeof(Qwen2VLForConditionalGeneration)))
        {
            case QwenPolicy qwen:
                qwen.SavePretrained(folder);
                break;
            case QwenForCausalLM lm:
                lm.SavePretrained(folder);
                break;
            case Qwen2VLForConditionalGeneration vl:
                vl.SavePretrained(folder);
                break;
            default:
                throw new NotSupportedException(
                    $"The policy ({policy.GetType().Name}) offers no QwenPolicy, QwenForCausalLM or Qwen2VLForConditionalGeneration to save; set FullWeightSyncOptions.WriteSnapshot to write its Hugging Face snapshot.");
        }
    }

    private async Task ReloadSglangAsync(string engineFolder, long version, CancellationToken cancellationToken)
    {
        var body = new JsonObject
        {
            ["model_path"] = engineFolder,
            ["weight_version"] = version.ToString(CultureInfo.InvariantCulture),
            ["flush_cache"] = true,
        };
        await PostExpectingSuccessAsync("update_weights_from_disk", body, "reloading weights", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Reloads vLLM from the re-pointed link; returns the error of the final resume when only that failed (the weights are loaded).</summary>
    private async Task<EngineRequestException?> ReloadVllmAsync(string root, long version, CancellationToken cancellationToken)
    {
        bool paused = false;
        try
        {
            if (_options.PauseDuringReload)
            {
                await Http.PostAsync("pause?mode=wait", null, null, "pausing generation", cancellationToken).ConfigureAwait(false);
                paused = true;
            }

            PointCurrentAt(root, FolderName(version));
            await Http.PostAsync("collective_rpc", new JsonObject { ["method"] = "reload_weights" }, null, "reloading weights", cancellationToken).ConfigureAwait(false);
            await Http.PostAsync("reset_prefix_cache", null, null, "resetting the prefix cache", cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (paused)
        {
            // Resume even after a failed reload, so the engine is not left paused. The reload's failure is the one reported; a
            // resume that fails too is named in its message, never in its place.
            try
            {
                await Http.PostAsync("resume", null, null, "resuming generation", CancellationToken.None).ConfigureAwait(false);
            }
            catch (EngineRequestException resume)
            {
                throw new EngineRequestException($"{e.Message} Resuming generation afterwards failed too ({resume.Message}); the engine may be left paused.", (e as EngineRequestException)?.Endpoint ?? resume.Endpoint ?? Http.BaseAddress, null, (e as EngineRequestException)?.StatusCode, e);
            }

            throw;
        }

        if (paused)
        {
            try
            {
                await Http.PostAsync("resume", null, null, "resuming generation", CancellationToken.None).ConfigureAwait(false);
            }
            catch (EngineRequestException resume)
            {
                return resume;
            }
        }

        return null;
    }

    /// <summary>Re-points <c>{root}/current</c> at a version folder: a new link renamed over the old one (rename(2) is atomic on POSIX).</summary>
    private static void PointCurrentAt(string root, string versionFolder)
    {
        string link = Path.Combine(root, CurrentLinkName);
        if (OperatingSystem.IsWindows())
        {
            // No atomic replace of a directory link; the engine is paused or reloading from a settled link.
            if (Directory.Exists(link) || File.Exists(link))
            {
                Directory.Delete(link);
            }

            Directory.CreateSymbolicLink(link, versionFolder);
            return;
        }

        string temporary = Path.Combine(root, CurrentLinkName + "." + Guid.NewGuid().ToString("N"));
        Directory.CreateSymbolicLink(temporary, versionFolder);

        // File.Move and Directory.Move refuse a link to a folder, or an existing target: call rename(2) itself, which replaces the old link.
        if (Posix.Rename(temporary, link) != 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            TryDelete(temporary);
            throw new IOException($"rename('{temporary}', '{link}') failed with errno {errno}.");
        }
    }

}

/// <summary>The one POSIX call .NET does not offer: rename over an existing symbolic link.</summary>
internal static partial class Posix
{
    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "rename", SetLastError = true, StringMarshalling = System.Runtime.InteropServices.StringMarshalling.Utf8)]
    public static partial int Rename(string oldPath, string newPath);
}
