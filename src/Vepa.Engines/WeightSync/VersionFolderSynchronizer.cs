using System.Globalization;
using System.Text.Json.Nodes;

namespace Vepa.Engines;

/// <summary>
/// What the full-weight and the LoRA synchronizers share: one sync at a time (a second concurrent call waits), versions that must
/// grow from sync to sync, and version folders <c>v{version:D12}</c> written whole or not at all and pruned to the newest few.
/// </summary>
internal abstract class VersionFolderSynchronizer : IWeightSynchronizer, IDisposable
{
    private const string VersionPrefix = "v";
    private readonly SemaphoreSlim _gate = new(1, 1);
    private long _lastVersion = long.MinValue;

    protected VersionFolderSynchronizer(EngineHttp http, EngineKind engine)
    {
        Http = http;
        Engine = engine;
    }

    /// <summary>Gets the engine's HTTP client.</summary>
    protected EngineHttp Http { get; }

    /// <summary>Gets the engine this synchronizer talks to.</summary>
    protected EngineKind Engine { get; }

    /// <summary>Gets the folder name of a version: <c>v</c> and 12 digits, so names sort like versions.</summary>
    public static string FolderName(long version) => VersionPrefix + version.ToString("D12", CultureInfo.InvariantCulture);

    public async Task SynchronizeAsync(IPolicy policy, long version, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentOutOfRangeException.ThrowIfNegative(version);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (version <= _lastVersion)
            {
                throw new ArgumentOutOfRangeException(nameof(version), version, $"The weight version must grow from sync to sync; the last one synced was {_lastVersion}.");
            }

            await PublishAsync(policy, version, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        _gate.Dispose();
    }

    /// <summary>
    /// Writes version <paramref name="version"/> of the policy's weights and has the engine serve it; calls <see cref="MarkSynced"/> as
    /// soon as the engine serves it (what fails after that, such as cleanup, does not make the version sync again).
    /// </summary>
    protected abstract Task PublishAsync(IPolicy policy, long version, CancellationToken cancellationToken);

    /// <summary>Records that the engine serves <paramref name="version"/>: later syncs must name a higher one.</summary>
    protected void MarkSynced(long version) => _lastVersion = version;

    /// <summary>Posts an SGLang call whose JSON answer must carry <c>"success": true</c>; anything else fails with the endpoint, never the body.</summary>
    protected async Task PostExpectingSuccessAsync(string path, JsonObject body, string what, CancellationToken cancellationToken)
    {
        var answer = await Http.PostAsync(path, body, promptIndex: null, what, cancellationToken).ConfigureAwait(false);
        if ((answer as JsonObject)?["success"] is not JsonValue success || !success.TryGetValue(out bool ok) || !ok)
        {
            var endpoint = new Uri(Http.BaseAddress, path);
            throw new EngineRequestException(
                $"{EngineHttp.Describe(what, null)} at {endpoint} answered HTTP 200 without \"success\": true (its message is not shown; see the engine's log).",
                endpoint,
                null,
                200);
        }
    }

    /// <summary>The folders of a version: where this process writes it and where the engine reads it (the same unless the engine mounts the directory elsewhere).</summary>
    protected static (string Root, string Folder, string EngineFolder) VersionFolders(string directory, string? engineDirectory, long version)
    {
        string root = Path.GetFullPath(directory);
        return (root, Path.Combine(root, FolderName(version)), Path.Combine(engineDirectory ?? root, FolderName(version)));
    }

    /// <summary>
    /// Writes a version folder whole or not at all: <paramref name="write"/> fills <c>{folder}.partial</c> (created empty; a stale one or an
    /// old <paramref name="folder"/> is removed first), which is then renamed to <paramref name="folder"/>. Any failure deletes the partial
    /// folder and throws a <see cref="WeightSyncException"/> ("{sync} to version v failed while writing {what} to '…': …").
    /// </summary>
    internal static void WriteVersionFolder(string root, string folder, long version, string sync, string what, Action<string> write)
    {
        string partial = folder + ".partial";
        try
        {
            Directory.CreateDirectory(root);
            foreach (string stale in new[] { partial, folder })
            {
                if (Directory.Exists(stale))
                {
                    Directory.Delete(stale, recursive: true);
                }
            }

            Directory.CreateDirectory(partial);
            write(partial);
            Directory.Move(partial, folder);
        }
        catch (Exception e) when (e is not WeightSyncException)
        {
            TryDelete(partial);
            throw new WeightSyncException($"{sync} to version {version} failed while writing {what} to '{folder}': {e.GetType().Name}: {e.Message}", version, e);
        }
    }

    /// <summary>Deletes a folder or a link, ignoring a failure (left for the next sync's cleanup).</summary>
    internal static void TryDelete(string path)
    {
        try
        {
            if (Directory.Exists(path) && (File.GetAttributes(path) & FileAttributes.ReparsePoint) == 0)
            {
                Directory.Delete(path, recursive: true);
            }
            else if (Directory.Exists(path) || File.Exists(path))
            {
                Directory.Delete(path);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Left for the next sync's cleanup.
        }
    }

    /// <summary>Deletes all but the newest <paramref name="keep"/> version folders, and stale partial folders.</summary>
    /// <remarks>A folder that cannot be deleted (an engine still reading it) is left for the next sync; that is not an error.</remarks>
    internal static void DeleteOldVersions(string root, long current, int keep)
    {
        var versions = new List<(long Version, string Path)>();
        foreach (string path in Directory.EnumerateDirectories(root, VersionPrefix + "*"))
        {
            string name = Path.GetFileName(path);
            bool partial = name.EndsWith(".partial", StringComparison.Ordinal);
            string digits = partial ? name[VersionPrefix.Length..^".partial".Length] : name[VersionPrefix.Length..];
            if (long.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out long version) && version <= current
                && (File.GetAttributes(path) & FileAttributes.ReparsePoint) == 0)
            {
                versions.Add((partial ? long.MinValue : version, path));
            }
        }

        // Partial folders (a write that was interrupted) are always stale; only complete versions count toward keep.
        var stale = versions.Where(v => v.Version == long.MinValue)
            .Concat(versions.Where(v => v.Version != long.MinValue).OrderByDescending(v => v.Version).Skip(keep));
        foreach (var (version, path) in stale)
        {
            if (version == current)
            {
                continue;
            }

            try
            {
                Directory.Delete(path, recursive: true);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Left for the next sync.
            }
        }
    }
}
