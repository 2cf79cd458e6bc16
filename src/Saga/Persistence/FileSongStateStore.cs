using System.Text.Json;
using Microsoft.Extensions.Logging;
using MSaaS.Saga;

namespace MSaaS.Saga.Persistence;

/// <summary>
/// Songs kept on disk, one JSON file per song in a directory (the embedded mode's store, beside its local object
/// store), with the table in memory for queries. Every change is written to a new file, flushed to disk and renamed
/// over the old one, so that a crash at any moment leaves each song's last complete version. At start the files are
/// read back; one that cannot be read is set aside (renamed *.damaged) and logged, never silently dropped.
/// </summary>
public sealed class FileSongStateStore : InMemorySongStateStore
{
    private readonly string _directory;

    public FileSongStateStore(string directory, ILogger<FileSongStateStore> logger)
    {
        _directory = Directory.CreateDirectory(directory).FullName;
        foreach (var partial in Directory.EnumerateFiles(_directory, "*.partial")) File.Delete(partial); // a write a crash cut short
        foreach (var file in Directory.EnumerateFiles(_directory, "*.json"))
        {
            try
            {
                using var record = JsonDocument.Parse(File.ReadAllText(file));
                var version = record.RootElement.GetProperty("version").GetInt32();
                var json = record.RootElement.GetProperty("song").GetRawText();
                var song = SongStateJson.Read(json, version);
                Load(new StoredSong(song.CorrelationId, version, json, song.Deadline, song.CurrentState, song.UpdatedAt));
            }
            catch (Exception e) when (e is JsonException or InvalidDataException or IOException or KeyNotFoundException or InvalidOperationException or FormatException)
            {
                logger.LogError("song record {File} cannot be read ({Reason}); set aside as {File}.damaged", file, e.Message, file);
                File.Move(file, file + ".damaged", overwrite: true);
            }
        }
    }

    protected override void Stored(StoredSong song)
    {
        var path = PathOf(song.Id);
        var partial = path + ".partial";
        using (var file = new FileStream(partial, FileMode.Create, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        using (var writer = new StreamWriter(file))
        {
            writer.Write($"{{\"version\":{song.Version},\"song\":{song.Json}}}");
            writer.Flush();
            file.Flush(flushToDisk: true);
        }
        File.Move(partial, path, overwrite: true);
    }

    protected override void Deleted(Guid songId) => File.Delete(PathOf(songId));

    private string PathOf(Guid songId) => Path.Combine(_directory, songId.ToString("N") + ".json");
}
