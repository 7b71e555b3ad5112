namespace Vepa.Engines.Tests;

/// <summary>Version-folder clean-up: a partial folder left by an interrupted write is always removed; complete versions keep the newest N.</summary>
public sealed class VersionFolderCleanupTests
{
    [Fact]
    public void A_stale_partial_folder_is_deleted_even_when_fewer_complete_versions_than_KeepVersions_exist()
    {
        string root = Directory.CreateTempSubdirectory("vepa-versions-").FullName;
        try
        {
            foreach (string name in new[] { FullWeightSynchronizer.FolderName(1), FullWeightSynchronizer.FolderName(2) + ".partial", FullWeightSynchronizer.FolderName(3) })
            {
                Directory.CreateDirectory(Path.Combine(root, name));
            }

            VersionFolderSynchronizer.DeleteOldVersions(root, current: 3, keep: 2);

            Directory.EnumerateDirectories(root).Select(Path.GetFileName).Order()
                .Should().Equal(FullWeightSynchronizer.FolderName(1), FullWeightSynchronizer.FolderName(3));

            Directory.CreateDirectory(Path.Combine(root, FullWeightSynchronizer.FolderName(4)));
            VersionFolderSynchronizer.DeleteOldVersions(root, current: 4, keep: 2);
            Directory.EnumerateDirectories(root).Select(Path.GetFileName).Order()
                .Should().Equal(FullWeightSynchronizer.FolderName(3), FullWeightSynchronizer.FolderName(4));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
