using System.Security.Cryptography;
using System.Text;

namespace Vepa.Grpo.Cuda;

/// <summary>The CUDA C sources embedded in the assembly (Cuda/Sources/*.cu, EmbeddedResource) and the compile keys.</summary>
internal static class CudaSources
{
    public const string PolicyLoss = "policy_loss.cu";
    public const string TokenLogProbs = "token_logprobs.cu";
    public const string Advantages = "advantages.cu";
    private const string Common = "common.cuh";

    /// <summary>Reads one embedded source file.</summary>
    /// <exception cref="InvalidOperationException">The resource is missing (a packaging error).</exception>
    public static string Read(string file)
    {
        string name = "Vepa.Grpo.Cuda." + file;
        using Stream? stream = typeof(CudaSources).Assembly.GetManifestResourceStream(name);
        if (stream is null)
        {
            throw new InvalidOperationException($"The CUDA source '{file}' is not embedded in {typeof(CudaSources).Assembly.GetName().Name} (resource '{name}').");
        }

        using var reader = new StreamReader(stream, Encoding.UTF8);
        return reader.ReadToEnd();
    }

    /// <summary>The full translation unit of a kernel file: the common definitions, then the file (NVRTC gets no headers).</summary>
    public static string TranslationUnit(string file) => Read(Common) + "\n" + Read(file);

    /// <summary>The disk-cache key of a compilation: SHA-256 over the source, the options and the compiler version.</summary>
    public static string CacheKey(string source, IReadOnlyList<string> options, string compilerVersion)
    {
        var text = new StringBuilder(source.Length + 256);
        text.Append(source).Append('\0');
        foreach (string option in options)
        {
            text.Append(option).Append('\0');
        }

        text.Append(compilerVersion);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())));
    }
}
