using System.Globalization;
using System.Text.Json;

namespace Vepa.Models;

/// <summary>A snapshot's <c>generation_config.json</c>: the stop (EOS) and pad ids, and the publisher's default sampling settings.</summary>
/// <remarks>
/// <para><see cref="ToSamplingOptions"/> fills <see cref="SamplingOptions.StopTokenIds"/> and <see cref="SamplingOptions.PadTokenId"/>
/// so hosts need not type Qwen's ids (<c>&lt;|im_end|&gt;</c> 151645, <c>&lt;|endoftext|&gt;</c> 151643). The publisher's temperature,
/// top-p and top-k are tuned for chat answers (Qwen2-VL-Instruct ships temperature 0.01 with top_k 1, nearly greedy), which would make
/// every completion of a GRPO group the same, so they are copied only on request. <see cref="SamplingOptions"/> has no repetition
/// penalty: <see cref="RepetitionPenalty"/> is read and reported but never applied.</para>
/// <para>Immutable and thread-safe.</para>
/// </remarks>
public sealed class GenerationConfig
{
    private const string FileName = "generation_config.json";

    private GenerationConfig(string path, JsonElement root)
    {
        Path = path;
        EosTokenIds = ReadIds(root, "eos_token_id", path);
        PadTokenId = ReadId(root, "pad_token_id", path);
        BosTokenId = ReadId(root, "bos_token_id", path);
        DoSample = SnapshotJson.OptionalBool(root, "do_sample", path, "do_sample");
        Temperature = SnapshotJson.OptionalDouble(root, "temperature", path, "temperature");
        TopP = SnapshotJson.OptionalDouble(root, "top_p", path, "top_p");
        long? topK = SnapshotJson.OptionalInt64(root, "top_k", path, "top_k");
        TopK = topK is null ? null : topK is >= 0 and <= int.MaxValue ? (int)topK : throw Range(path, "top_k", ">= 0", topK.Value);
        RepetitionPenalty = SnapshotJson.OptionalDouble(root, "repetition_penalty", path, "repetition_penalty");
        long? maxNew = SnapshotJson.OptionalInt64(root, "max_new_tokens", path, "max_new_tokens");
        MaxNewTokens = maxNew is null ? null : maxNew is >= 1 and <= int.MaxValue ? (int)maxNew : throw Range(path, "max_new_tokens", ">= 1", maxNew.Value);
        if (Temperature is double t && !(t >= 0 && double.IsFinite(t)))
        {
            throw Range(path, "temperature", "finite and >= 0", t);
        }

        if (TopP is double p && !(p > 0 && p <= 1))
        {
            throw Range(path, "top_p", "in (0, 1]", p);
        }
    }

    /// <summary>Gets the file this configuration was read from.</summary>
    public string Path { get; }

    /// <summary>Gets the ids that end generation (<c>eos_token_id</c>, an integer or a list); empty when the file has none.</summary>
    public IReadOnlyList<long> EosTokenIds { get; }

    /// <summary>Gets <c>pad_token_id</c>, or <see langword="null"/>.</summary>
    public long? PadTokenId { get; }

    /// <summary>Gets <c>bos_token_id</c>, or <see langword="null"/> (Qwen prompts start without one; informational).</summary>
    public long? BosTokenId { get; }

    /// <summary>Gets <c>do_sample</c>, or <see langword="null"/>; <see langword="false"/> means greedy decoding.</summary>
    public bool? DoSample { get; }

    /// <summary>Gets <c>temperature</c>, or <see langword="null"/>.</summary>
    public double? Temperature { get; }

    /// <summary>Gets <c>top_p</c>, or <see langword="null"/>.</summary>
    public double? TopP { get; }

    /// <summary>Gets <c>top_k</c>, or <see langword="null"/>.</summary>
    public int? TopK { get; }

    /// <summary>Gets <c>repetition_penalty</c>, or <see langword="null"/>. Vepa's samplers have no repetition penalty; this value is never applied.</summary>
    public double? RepetitionPenalty { get; }

    /// <summary>Gets <c>max_new_tokens</c>, or <see langword="null"/>.</summary>
    public int? MaxNewTokens { get; }

    /// <summary>Reads <c>generation_config.json</c> from a snapshot folder.</summary>
    /// <param name="folder">The snapshot folder.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="folder"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The folder has no <c>generation_config.json</c>.</exception>
    /// <exception cref="InvalidDataException">The file is malformed or a field has the wrong type or range; the message names the file and the field.</exception>
    public static GenerationConfig FromPretrained(string folder)
    {
        ArgumentNullException.ThrowIfNull(folder);
        return FromFile(System.IO.Path.Combine(folder, FileName));
    }

    /// <summary>Reads a <c>generation_config.json</c> file.</summary>
    /// <param name="path">The file.</param>
    /// <returns>The configuration.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="path"/> is <see langword="null"/>.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is malformed or a field has the wrong type or range; the message names the file and the field.</exception>
    public static GenerationConfig FromFile(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        using var document = SnapshotJson.Load(path);
        return new GenerationConfig(path, document.RootElement);
    }

    /// <summary>Makes sampling options with this configuration's stop and pad ids.</summary>
    /// <param name="baseOptions">Options to start from (copied, not changed), or <see langword="null"/> for the defaults.</param>
    /// <param name="includeSamplingSettings">Whether to also copy <c>temperature</c>, <c>top_p</c>, <c>top_k</c>, <c>max_new_tokens</c> and <c>do_sample</c> (false: temperature 0, greedy). Off by default: the publisher's chat settings are usually too narrow for GRPO's groups.</param>
    /// <returns>The options: <see cref="SamplingOptions.StopTokenIds"/> = the base's stop ids followed by <see cref="EosTokenIds"/> (no duplicates); <see cref="SamplingOptions.PadTokenId"/> = <see cref="PadTokenId"/> when set.</returns>
    /// <exception cref="InvalidOperationException">The file has no <c>eos_token_id</c> and the base options have no stop ids either, so completions could never stop.</exception>
    public SamplingOptions ToSamplingOptions(SamplingOptions? baseOptions = null, bool includeSamplingSettings = false)
    {
        var options = baseOptions?.Clone() ?? new SamplingOptions();
        foreach (long id in EosTokenIds)
        {
            if (!options.StopTokenIds.Contains(id))
            {
                options.StopTokenIds.Add(id);
            }
        }

        if (options.StopTokenIds.Count == 0)
        {
            throw new InvalidOperationException($"'{Path}' has no 'eos_token_id' and the base options have no stop ids; give StopTokenIds explicitly (e.g. the tokenizer's EosTokenId).");
        }

        if (PadTokenId is long pad)
        {
            options.PadTokenId = pad;
        }

        if (includeSamplingSettings)
        {
            options.Temperature = DoSample == false ? 0 : Temperature ?? options.Temperature;
            options.TopP = TopP ?? options.TopP;
            options.TopK = TopK ?? options.TopK;
            options.MaxNewTokens = MaxNewTokens ?? options.MaxNewTokens;
        }

        return options;
    }

    private static long[] ReadIds(JsonElement root, string field, string path)
    {
        var value = SnapshotJson.Get(root, field);
        if (value is null)
        {
            return [];
        }

        if (value.Value.ValueKind == JsonValueKind.Array)
        {
            return value.Value.EnumerateArray().Select((e, i) => CheckId(SnapshotJson.AsInt64(e, path, $"{field}[{i}]"), path, $"{field}[{i}]")).ToArray();
        }

        return value.Value.ValueKind == JsonValueKind.Number
            ? [CheckId(SnapshotJson.AsInt64(value.Value, path, field), path, field)]
            : throw SnapshotJson.Wrong(path, field, "an integer or a list of integers", value.Value);
    }

    private static long? ReadId(JsonElement root, string field, string path) =>
        SnapshotJson.OptionalInt64(root, field, path, field) is long id ? CheckId(id, path, field) : null;

    private static long CheckId(long id, string path, string field) => id >= 0 ? id : throw Range(path, field, ">= 0", id);

    private static InvalidDataException Range(string path, string field, string rule, double value) =>
        new($"'{path}': the field '{field}' must be {rule}; got {value.ToString(CultureInfo.InvariantCulture)}.");
}
