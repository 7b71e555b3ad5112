using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>
/// Reads and writes the weights of a Hugging Face snapshot folder: <c>model.safetensors</c>, or shards
/// <c>model-0000i-of-0000n.safetensors</c> listed by <c>model.safetensors.index.json</c>. Generic over the tensor names, so any
/// module (a decoder, a vision tower) loads through it by passing its own name → tensor map.
/// </summary>
/// <remarks>
/// <para><b>Loading</b> first reads every header (a few kB each) and checks, against the requested names, that nothing is missing,
/// unexpected or mis-shaped, that each dtype is supported, that each tensor's bytes lie inside its file, and that the index and the
/// shards agree. Only then does it copy, shard by shard and tensor by tensor, each tensor's bytes into the already-allocated target
/// (converting dtype and device with one temporary of that tensor's size). Host memory beyond the targets is therefore at most the
/// largest tensor, never the shard or the model twice. Any problem throws <see cref="SnapshotFormatException"/> naming the file and the
/// tensor.</para>
/// <para><b>Saving</b> writes safetensors files readable by Hugging Face <c>safetensors</c>, transformers, vLLM and SGLang: the
/// header is padded with spaces to a multiple of 8 bytes and carries <c>{"format": "pt"}</c> metadata; more than one shard gets the
/// index json with <c>metadata.total_size</c> and <c>weight_map</c>.</para>
/// <para>Little-endian hosts only (x86-64 and ARM64), as safetensors stores little-endian data.</para>
/// </remarks>
public static class SafetensorsCheckpoint
{
    /// <summary>The weights file of an unsharded snapshot.</summary>
    public const string SingleFileName = "model.safetensors";

    /// <summary>The index file of a sharded snapshot.</summary>
    public const string IndexFileName = "model.safetensors.index.json";

    /// <summary>The default maximum shard size for saving: 5 GB, as transformers' <c>save_pretrained</c> uses.</summary>
    public const long DefaultMaxShardBytes = 5_000_000_000;

    /// <summary>Loads a snapshot folder's weights into existing tensors, matched by name.</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <param name="targets">The tensors to fill, by their Hugging Face names (each already allocated in the wanted dtype and device).</param>
    /// <param name="ignore">Names in the files to skip (for example a tied <c>lm_head.weight</c>), or <see langword="null"/> to skip none.</param>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> or <paramref name="targets"/> is <see langword="null"/>.</exception>
    /// <exception cref="SnapshotFormatException">The folder has no weights, or a file, index entry or tensor is missing, unexpected, mis-shaped, truncated or of an unsupported dtype.</exception>
    public static void Load(string folder, IReadOnlyDictionary<string, Tensor> targets, Func<string, bool>? ignore = null)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(targets);
        ignore ??= _ => false;
        CheckLittleEndian();

        var plan = Plan(folder, targets, ignore);

        // Every header, name and shape is valid: now copy, shard by shard, tensor by tensor.
        foreach (var (file, entries) in plan)
        {
            using var handle = File.OpenHandle(file.Path, FileMode.Open, FileAccess.Read, FileShare.Read, FileOptions.RandomAccess);
            foreach (var entry in entries)
            {
                file.ReadInto(handle, entry, targets[entry.Name]);
            }
        }
    }

    /// <summary>Writes tensors as a safetensors snapshot (one file, or shards with an index) into a folder.</summary>
    /// <param name="folder">The folder (created if needed). Existing <c>model*.safetensors</c> files and the index there are replaced.</param>
    /// <param name="tensors">The tensors by Hugging Face name, written in their own dtype.</param>
    /// <param name="maxShardBytes">The largest shard in bytes, &gt; 0; a tensor larger than it gets a shard of its own.</param>
    /// <returns>The file names written (the weight files, then the index when sharded).</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> or <paramref name="tensors"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxShardBytes"/> is not positive.</exception>
    /// <exception cref="ArgumentException">A name repeats, or a tensor's dtype has no safetensors name.</exception>
    public static IReadOnlyList<string> Save(string folder, IEnumerable<KeyValuePair<string, Tensor>> tensors, long maxShardBytes = DefaultMaxShardBytes)
    {
        ArgumentNullException.ThrowIfNull(folder);
        ArgumentNullException.ThrowIfNull(tensors);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxShardBytes);
        CheckLittleEndian();

        var items = tensors.ToList();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, _) in items)
        {
            if (!seen.Add(name))
            {
                throw new ArgumentException($"Tensor name '{name}' appears twice.", nameof(tensors));
            }
        }

        var shards = new List<List<KeyValuePair<string, Tensor>>>();
        long current = long.MaxValue;
        long total = 0;
        foreach (var item in items)
        {
            long bytes = item.Value.NumberOfElements * SafetensorsDtypes.NameOf(item.Value.dtype, item.Key).Size;
            total += bytes;
            if (shards.Count == 0 || current + bytes > maxShardBytes)
            {
                shards.Add([]);
                current = 0;
            }

            shards[^1].Add(item);
            current += bytes;
        }

        if (shards.Count == 0)
        {
            shards.Add([]);
        }

        Directory.CreateDirectory(folder);
        foreach (var stale in Directory.EnumerateFiles(folder, "model*.safetensors").Append(System.IO.Path.Combine(folder, IndexFileName)))
        {
            File.Delete(stale);
        }

        var written = new List<string>();
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int s = 0; s < shards.Count; s++)
        {
            string fileName = shards.Count == 1 ? SingleFileName : $"model-{s + 1:D5}-of-{shards.Count:D5}.safetensors";
            WriteFile(System.IO.Path.Combine(folder, fileName), shards[s]);
            written.Add(fileName);
            foreach (var (name, _) in shards[s])
            {
                weightMap[name] = fileName;
            }
        }

        if (shards.Count > 1)
        {
            var index = new JsonObject
            {
                ["metadata"] = new JsonObject { ["total_size"] = total },
                ["weight_map"] = new JsonObject(weightMap.Select(p => KeyValuePair.Create(p.Key, (JsonNode?)JsonValue.Create(p.Value)))),
            };
            File.WriteAllText(System.IO.Path.Combine(folder, IndexFileName), index.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n");
            written.Add(IndexFileName);
        }

        return written;
    }

    private static List<(SafetensorsFile File, List<SafetensorsEntry> Entries)> Plan(string folder, IReadOnlyDictionary<string, Tensor> targets, Func<string, bool> ignore)
    {
        if (!Directory.Exists(folder))
        {
            throw new SnapshotFormatException($"Snapshot folder '{folder}' does not exist.", folder, null);
        }

        string indexPath = System.IO.Path.Combine(folder, IndexFileName);
        string singlePath = System.IO.Path.Combine(folder, SingleFileName);
        Dictionary<string, string>? weightMap = null;
        List<string> files;
        if (File.Exists(indexPath))
        {
            weightMap = ReadIndex(indexPath);
            files = weightMap.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
            foreach (string file in files)
            {
                if (!File.Exists(System.IO.Path.Combine(folder, file)))
                {
                    string tensor = weightMap.First(p => p.Value == file).Key;
                    throw new SnapshotFormatException($"Index '{indexPath}' maps tensor '{tensor}' to file '{file}', which does not exist in '{folder}'.", indexPath, tensor);
                }
            }

            foreach (string name in targets.Keys)
            {
                if (!weightMap.ContainsKey(name))
                {
                    throw new SnapshotFormatException($"Index '{indexPath}' has no entry for tensor '{name}' (the model needs it).", indexPath, name);
                }
            }
        }
        else if (File.Exists(singlePath))
        {
            files = [SingleFileName];
        }
        else
        {
            var shards = Directory.EnumerateFiles(folder, "model-*.safetensors").Select(System.IO.Path.GetFileName).ToList();
            throw new SnapshotFormatException(
                shards.Count > 0
                    ? $"Snapshot folder '{folder}' has shards ({string.Join(", ", shards)}) but no '{IndexFileName}' to say which tensor is where."
                    : $"Snapshot folder '{folder}' has neither '{SingleFileName}' nor '{IndexFileName}'.",
                folder,
                null);
        }

        var plan = new List<(SafetensorsFile, List<SafetensorsEntry>)>();
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            var header = SafetensorsFile.Open(System.IO.Path.Combine(folder, file));
            var entries = new List<SafetensorsEntry>();
            foreach (var entry in header.Entries.Values.OrderBy(e => e.Begin))
            {
                if (found.TryGetValue(entry.Name, out string? other))
                {
                    throw new SnapshotFormatException($"Tensor '{entry.Name}' is stored twice: in '{other}' and in '{header.Path}'.", header.Path, entry.Name);
                }

                found[entry.Name] = header.Path;
                if (weightMap is not null && (!weightMap.TryGetValue(entry.Name, out string? listed) || listed != file))
                {
                    throw new SnapshotFormatException(
                        listed is null
                            ? $"Safetensors file '{header.Path}' holds tensor '{entry.Name}', which index '{indexPath}' does not list."
                            : $"Safetensors file '{header.Path}' holds tensor '{entry.Name}', which index '{indexPath}' places in '{listed}'.",
                        header.Path,
                        entry.Name);
                }

                if (!targets.TryGetValue(entry.Name, out var target))
                {
                    if (ignore(entry.Name))
                    {
                        continue;
                    }

                    throw new SnapshotFormatException($"Safetensors file '{header.Path}' holds unexpected tensor '{entry.Name}': the model has no parameter of that name.", header.Path, entry.Name);
                }

                if (!target.shape.SequenceEqual(entry.Shape))
                {
                    throw new SnapshotFormatException(
                        $"Safetensors file '{header.Path}', tensor '{entry.Name}': shape [{string.Join(", ", entry.Shape)}] in the file, but the model expects [{string.Join(", ", target.shape)}].",
                        header.Path,
                        entry.Name);
                }

                entries.Add(entry);
            }

            plan.Add((header, entries));
        }

        if (weightMap is not null)
        {
            foreach (var (name, file) in weightMap)
            {
                if (!found.ContainsKey(name))
                {
                    string path = System.IO.Path.Combine(folder, file);
                    throw new SnapshotFormatException($"Index '{indexPath}' places tensor '{name}' in '{path}', but that file does not hold it.", path, name);
                }
            }
        }

        foreach (string name in targets.Keys)
        {
            if (!found.ContainsKey(name))
            {
                string where = string.Join(", ", files.Select(f => System.IO.Path.Combine(folder, f)));
                throw new SnapshotFormatException($"Tensor '{name}' is missing: no weights file of the snapshot ({where}) holds it.", where, name);
            }
        }

        return plan;
    }

    private static Dictionary<string, string> ReadIndex(string indexPath)
    {
        try
        {
            using var doc = JsonDocument.Parse(File.ReadAllBytes(indexPath));
            if (!doc.RootElement.TryGetProperty("weight_map", out var map) || map.ValueKind != JsonValueKind.Object)
            {
                throw new SnapshotFormatException($"Index '{indexPath}' has no \"weight_map\" object.", indexPath, null);
            }

            var result = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var property in map.EnumerateObject())
            {
                if (property.Value.ValueKind != JsonValueKind.String || string.IsNullOrEmpty(property.Value.GetString())
                    || property.Value.GetString()!.Contains('/', StringComparison.Ordinal) || property.Value.GetString()!.Contains('\\', StringComparison.Ordinal))
                {
                    throw new SnapshotFormatException($"Index '{indexPath}': tensor '{property.Name}' maps to {property.Value.GetRawText()}, not a file name in the folder.", indexPath, property.Name);
                }

                result[property.Name] = property.Value.GetString()!;
            }

            return result;
        }
        catch (JsonException e)
        {
            throw new SnapshotFormatException($"Index '{indexPath}' is not valid JSON: {e.Message}", indexPath, null, e);
        }
    }

    internal static void WriteFile(string path, List<KeyValuePair<string, Tensor>> tensors)
    {
        var header = new JsonObject { ["__metadata__"] = new JsonObject { ["format"] = "pt" } };
        long offset = 0;
        foreach (var (name, tensor) in tensors)
        {
            var (dtype, size) = SafetensorsDtypes.NameOf(tensor.dtype, name);
            long bytes = tensor.NumberOfElements * size;
            header[name] = new JsonObject
            {
                ["dtype"] = dtype,
                ["shape"] = new JsonArray(tensor.shape.Select(d => (JsonNode?)JsonValue.Create(d)).ToArray()),
                ["data_offsets"] = new JsonArray(offset, offset + bytes),
            };
            offset += bytes;
        }

        byte[] json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8;
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        Span<byte> length = stackalloc byte[8];
        System.Buffers.Binary.BinaryPrimitives.WriteInt64LittleEndian(length, padded);
        stream.Write(length);
        stream.Write(json);
        for (int i = json.Length; i < padded; i++)
        {
            stream.WriteByte((byte)' ');
        }

        foreach (var (_, tensor) in tensors)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var cpu = tensor.detach().cpu().contiguous();
            TensorBytes.Visit(cpu, (chunk, _) => stream.Write(chunk));
        }
    }

    private static void CheckLittleEndian()
    {
        if (!BitConverter.IsLittleEndian)
        {
            throw new PlatformNotSupportedException("Safetensors stores little-endian data; this host is big-endian.");
        }
    }
}
