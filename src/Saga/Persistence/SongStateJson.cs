using System.Text.Json;
using MSaaS.Saga;

namespace MSaaS.Saga.Persistence;

/// <summary>How a song saga is written in a store: JSON, camel case.</summary>
internal static class SongStateJson
{
    private static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);

    public static string Write(SongState song) => JsonSerializer.Serialize(song, Options);

    /// <summary>The song as it is stored at <paramref name="version"/> (the instance keeps its own version).</summary>
    public static string Write(SongState song, int version)
    {
        var loaded = song.Version;
        song.Version = version;
        try
        {
            return Write(song);
        }
        finally
        {
            song.Version = loaded;
        }
    }

    public static SongState Read(string json, int version)
    {
        var song = JsonSerializer.Deserialize<SongState>(json, Options) ?? throw new InvalidDataException("an empty song record");
        song.Version = version;
        return song;
    }
}
