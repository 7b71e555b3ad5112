namespace Vepa.Grpo.Cuda;

/// <summary>
/// Compiled CUBIN images on disk, one file per (kernel file, dtype defines, architecture, source hash):
/// <c>&lt;folder&gt;/&lt;label&gt;-&lt;sm_XY&gt;-&lt;key&gt;.cubin</c>. Writes go to a temporary file first and are then moved
/// into place, so a concurrent reader never sees half a file. An unreadable cache is treated as empty.
/// </summary>
internal sealed class CudaCubinCache
{
    /// <summary>Initializes a new instance of the <see cref="CudaCubinCache"/> class.</summary>
    /// <param name="folder">The cache folder (created on the first store).</param>
    public CudaCubinCache(string folder)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(folder);
        Folder = folder;
    }

    /// <summary>Gets the cache folder.</summary>
    public string Folder { get; }

    /// <summary>The default folder: <c>VEPA_CUDA_CACHE</c>, else the user's local application data, else the temp folder.</summary>
    public static string DefaultFolder()
    {
        string? configured = Environment.GetEnvironmentVariable("VEPA_CUDA_CACHE");
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        string local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData);
        return Path.Combine(string.IsNullOrEmpty(local) ? Path.GetTempPath() : local, "vepa", "cuda-cache");
    }

    /// <summary>The file of one entry.</summary>
    /// <param name="label">A readable label (kernel file and dtype), letters, digits, '-' and '_' only.</param>
    /// <param name="architecture">The architecture, e.g. "sm_90".</param>
    /// <param name="key">The hex source hash (<see cref="CudaSources.CacheKey"/>).</param>
    public string PathOf(string label, string architecture, string key)
    {
        if (label.Any(c => !(char.IsAsciiLetterOrDigit(c) || c is '-' or '_')) || architecture.Any(c => !(char.IsAsciiLetterOrDigit(c) || c == '_')) || !key.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"Cache names take letters, digits, '-' and '_' (label '{label}', architecture '{architecture}', key '{key}').", nameof(label));
        }

        return Path.Combine(Folder, $"{label}-{architecture}-{key}.cubin");
    }

    /// <summary>Reads an entry.</summary>
    /// <returns>The image, or <see langword="null"/> when absent, empty or unreadable.</returns>
    public byte[]? TryLoad(string label, string architecture, string key)
    {
        string file = PathOf(label, architecture, key);
        try
        {
            if (!File.Exists(file))
            {
                return null;
            }

            byte[] image = File.ReadAllBytes(file);
            return image.Length == 0 ? null : image;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>Stores an entry (best effort: a read-only or full disk only costs a recompilation next time).</summary>
    /// <returns><see langword="true"/> when the file was written.</returns>
    public bool TryStore(string label, string architecture, string key, byte[] image)
    {
        ArgumentNullException.ThrowIfNull(image);
        string file = PathOf(label, architecture, key);
        string temporary = file + "." + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "." + Guid.NewGuid().ToString("N") + ".tmp";
        try
        {
            Directory.CreateDirectory(Folder);
            File.WriteAllBytes(temporary, image);
            File.Move(temporary, file, overwrite: true);
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException)
            {
                // Nothing more to do: the entry is simply not cached.
            }

            return false;
        }
    }
}
