using TorchSharp;
using static TorchSharp.torch;

namespace Vepa.Models;

/// <summary>The vision inputs of a Qwen2-VL forward pass: the patches of one or more images and each image's patch grid.</summary>
/// <remarks>Owns its tensors (detached from dispose scopes); dispose it when done. Not thread-safe.</remarks>
public sealed class Qwen2VLImageBatch : IDisposable
{
    /// <summary>Initializes a new instance of the <see cref="Qwen2VLImageBatch"/> class and takes ownership of both tensors.</summary>
    /// <param name="pixelValues">The flattened patches, [Σ t·h·w, C·T·P·P] (Hugging Face's <c>pixel_values</c>).</param>
    /// <param name="imageGridThw">The grids, [N, 3] int64: temporal, height and width patch counts per image (<c>image_grid_thw</c>).</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The shapes do not agree: the grid is not [N, 3] int64, or its patch count is not the number of rows of <paramref name="pixelValues"/>.</exception>
    public Qwen2VLImageBatch(Tensor pixelValues, Tensor imageGridThw)
    {
        ArgumentNullException.ThrowIfNull(pixelValues);
        ArgumentNullException.ThrowIfNull(imageGridThw);
        if (imageGridThw.dim() != 2 || imageGridThw.shape[1] != 3 || imageGridThw.dtype != ScalarType.Int64)
        {
            throw new ArgumentException($"imageGridThw must be [N, 3] int64; got [{string.Join(", ", imageGridThw.shape)}] {imageGridThw.dtype}.", nameof(imageGridThw));
        }

        long patches = imageGridThw.shape[0] == 0 ? 0 : imageGridThw.prod(1).sum().item<long>();
        if (pixelValues.dim() != 2 || pixelValues.shape[0] != patches)
        {
            throw new ArgumentException($"pixelValues must be [{patches}, C*T*P*P] for grids summing to {patches} patches; got [{string.Join(", ", pixelValues.shape)}].", nameof(pixelValues));
        }

        PixelValues = pixelValues.DetachFromDisposeScope();
        ImageGridThw = imageGridThw.DetachFromDisposeScope();
    }

    /// <summary>Gets the flattened patches, [Σ t·h·w, C·T·P·P].</summary>
    public Tensor PixelValues { get; }

    /// <summary>Gets the patch grid of each image, [N, 3] int64 (t, h, w).</summary>
    public Tensor ImageGridThw { get; }

    /// <summary>Gets the number of images.</summary>
    public int Count => (int)ImageGridThw.shape[0];

    /// <summary>Releases both tensors.</summary>
    public void Dispose()
    {
        PixelValues.Dispose();
        ImageGridThw.Dispose();
    }
}
