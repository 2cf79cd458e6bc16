namespace MSaaS.Distributed.Tests;

/// <summary>Songs no server has seen: the servers outlive a run, and a song they know joins its old saga.</summary>
internal static class FreshSong
{
    /// <summary>A copy of <paramref name="song"/> at <paramref name="path"/> with a tag of its own (the audio untouched): new bytes, so a new hash.</summary>
    public static async Task<string> CopyTo(string path, string song)
    {
        using var ffmpeg = System.Diagnostics.Process.Start("ffmpeg", ["-nostdin", "-v", "error", "-y", "-i", song, "-c", "copy",
            "-metadata", $"comment={Guid.NewGuid():N}", path])!;
        await ffmpeg.WaitForExitAsync();
        Assert.Equal(0, ffmpeg.ExitCode);
        return path;
    }
}
