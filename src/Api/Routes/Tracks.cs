using MSaaS.Audio;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Routes;

/// <summary>Track names as clients write them: bass, drums, other, vocals, each also with ".mp3", and "base" for bass.</summary>
internal static class Tracks
{
    public static string? Parse(string? name)
    {
        if (name is null) return null;
        var bare = name.EndsWith(".mp3", StringComparison.OrdinalIgnoreCase) ? name[..^4] : name;
        if (bare.Equals("base", StringComparison.OrdinalIgnoreCase)) bare = "bass";
        return Stems.Names.FirstOrDefault(t => t.Equals(bare, StringComparison.OrdinalIgnoreCase));
    }

    public static string Unknown(string name) => $"unknown track {ClientText.Quote(name)}: the tracks are {string.Join(", ", Stems.Names)}";
}
