using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Grpo;

/// <summary>Keys and values of the positions decoded so far, per attention layer, for incremental decoding.</summary>
/// <remarks>
/// The cache owns the tensors it keeps (they are detached from dispose scopes) and disposes them when replaced or when the cache is
/// disposed; do not dispose what <see cref="Append"/> returns. One cache serves one batch of sequences that all advance together.
/// Not thread-safe.
/// </remarks>
public sealed class KeyValueCache : IDisposable
{
    private readonly List<(Tensor Keys, Tensor Values)?> _layers = [];
    private Tensor? _positionOffset;
    private bool _disposed;

    /// <summary>Gets the number of positions cached: the sequence length of layer 0 (0 before the first append).</summary>
    /// <remarks>A module reads it at the start of its forward pass, before appending, to number the new positions.</remarks>
    public long Length
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _layers.Count == 0 || _layers[0] is null ? 0 : _layers[0]!.Value.Keys.shape[^2];
        }
    }

    /// <summary>
    /// Gets or sets a per-row offset [B] (int64) that a module with its own position scheme keeps from the first pass for its
    /// cached decoding steps: for Qwen2-VL the rope delta (largest multimodal position + 1 − the row's padded length), added to
    /// the cache position of each new token, as Hugging Face does. The module defines what it means. <see langword="null"/> until
    /// a module sets it.
    /// </summary>
    /// <value>The cache keeps a detached copy and disposes it when replaced or when the cache is disposed.</value>
    public Tensor? PositionOffset
    {
        get
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            return _positionOffset;
        }

        set
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            Tensor? copy;
            using (no_grad())
            {
                copy = value?.detach().clone().DetachFromDisposeScope();
            }

            _positionOffset?.Dispose();
            _positionOffset = copy;
        }
    }

    /// <summary>Appends a layer's keys and values for the new positions and returns those of every position so far.</summary>
    /// <param name="layer">The layer index, ≥ 0.</param>
    /// <param name="keys">The new keys, [..., L_new, D]: the sequence is the second-to-last dimension (for example [B, heads, L, D] or [B, L, D]).</param>
    /// <param name="values">The new values, shaped like <paramref name="keys"/> except possibly the last dimension.</param>
    /// <returns>The keys and values of all cached positions, [..., L_cached + L_new, D]; owned by the cache.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="keys"/> or <paramref name="values"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="layer"/> is negative.</exception>
    /// <exception cref="ArgumentException">The tensors have fewer than 2 dimensions, or do not match what the layer cached before.</exception>
    public (Tensor Keys, Tensor Values) Append(int layer, Tensor keys, Tensor values)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(keys);
        ArgumentNullException.ThrowIfNull(values);
        ArgumentOutOfRangeException.ThrowIfNegative(layer);
        if (keys.dim() < 2 || values.dim() != keys.dim())
        {
            throw new ArgumentException($"keys and values must have the same number (at least 2) of dimensions; got [{string.Join(", ", keys.shape)}] and [{string.Join(", ", values.shape)}].", nameof(keys));
        }

        while (_layers.Count <= layer)
        {
            _layers.Add(null);
        }

        Tensor allKeys, allValues;
        using (no_grad())
        {
            if (_layers[layer] is (Tensor oldKeys, Tensor oldValues))
            {
                if (oldKeys.dim() != keys.dim() || !oldKeys.shape[..^2].SequenceEqual(keys.shape[..^2]))
                {
                    throw new ArgumentException($"Layer {layer} cached keys [{string.Join(", ", oldKeys.shape)}]; the new keys [{string.Join(", ", keys.shape)}] do not continue them.", nameof(keys));
                }

                allKeys = cat([oldKeys, keys.detach()], -2).DetachFromDisposeScope();
                allValues = cat([oldValues, values.detach()], -2).DetachFromDisposeScope();
                oldKeys.Dispose();
                oldValues.Dispose();
            }
            else
            {
                allKeys = keys.detach().clone().DetachFromDisposeScope();
                allValues = values.detach().clone().DetachFromDisposeScope();
            }
        }

        _layers[layer] = (allKeys, allValues);
        return (allKeys, allValues);
    }

    /// <summary>Releases the cached tensors.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _positionOffset?.Dispose();
        _positionOffset = null;
        foreach (var entry in _layers)
        {
            if (entry is (Tensor k, Tensor v))
            {
                k.Dispose();
                v.Dispose();
            }
        }

        _layers.Clear();
    }
}
