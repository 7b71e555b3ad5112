using Vepa.Samples.SceneVepa.Model;

namespace Vepa.Samples.SceneVepa.Stages;

/// <summary>Saves finished stages' weights atomically (temporary file + rename) and loads them with a clear error.</summary>
internal static class ModelFiles
{
    public static void Save(SceneVlm model, string path)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        string temp = path + ".tmp";
        model.save(temp);
        File.Move(temp, path, overwrite: true);
    }

    public static SceneVlm Load(VlmSize size, string path)
    {
        var model = new SceneVlm(size);
        try
        {
            model.load(path);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            model.Dispose();
            throw new InvalidDataException($"The checkpoint \"{path}\" could not be loaded into a model of size {size} (was it written with other --model-dim/--layers?): {ex.Message}", ex);
        }

        return model;
    }
}
