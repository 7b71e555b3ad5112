using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Saves and loads a policy's state (<see cref="IPolicy.GetState"/>) as a safetensors file, the format Python tools (Hugging Face <c>safetensors</c>, <c>transformers</c>, vLLM) read.</summary>
/// <remarks>Tensor names are the policy's state names (for a <see cref="TorchPolicy"/>: the module's <c>state_dict</c> names). Uses TorchSharp.PyBridge.</remarks>
public static class PolicySafetensors
{
    /// <summary>Writes the policy's state to <paramref name="path"/> (through a temporary file renamed when complete).</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="path">The file to write.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    public static void SaveSafetensors(this IPolicy policy, string path)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string temp = path + ".tmp-" + Guid.NewGuid().ToString("N");
        try
        {
            using (var scope = NewDisposeScope())
            {
                var copies = policy.GetState().ToDictionary(e => e.Key, e => e.Value.detach().cpu().contiguous(), StringComparer.Ordinal);
                using var stream = new FileStream(temp, FileMode.CreateNew, FileAccess.Write);
                Safetensors.SaveStateDict(stream, copies, leaveOpen: true);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temp, path, overwrite: true);
        }
        finally
        {
            if (File.Exists(temp))
            {
                File.Delete(temp);
            }
        }
    }

    /// <summary>Loads a safetensors file into the policy's state; every name, shape and dtype must match.</summary>
    /// <param name="policy">The policy.</param>
    /// <param name="path">The file to read.</param>
    /// <exception cref="ArgumentNullException"><paramref name="policy"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="path"/> is null or empty.</exception>
    /// <exception cref="FileNotFoundException">The file does not exist.</exception>
    /// <exception cref="InvalidDataException">The file is not readable safetensors, or its tensors do not fit the policy; the message names the file and the problem.</exception>
    public static void LoadSafetensors(this IPolicy policy, string path)
    {
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"{path}: the safetensors file does not exist.", path);
        }

        using var scope = NewDisposeScope();
        Dictionary<string, Tensor> tensors;
        try
        {
            tensors = Safetensors.LoadStateDict(path);
        }
        catch (Exception e)
        {
            throw new InvalidDataException($"{path}: not a readable safetensors file ({e.GetType().Name}: {e.Message}).", e);
        }

        try
        {
            policy.LoadState(tensors);
        }
        catch (ArgumentException e)
        {
            throw new InvalidDataException($"{path}: {e.Message}", e);
        }
    }
}
