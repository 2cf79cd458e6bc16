using MSaaS.Audio;
using MSaaS.Synthesis;
using MSaaS.Separation;

namespace MSaaS.Cli.Bench;

/// <summary>
/// The song benchmarks use unless told otherwise: the 20 s synthetic song (drums, bass, chords, an espeak-ng voice),
/// made once and kept as MP3 in the asset cache, so that a benchmark decodes an MP3 as a job does.
/// </summary>
internal static class BenchmarkSongs
{
    public static async Task<string> DefaultAsync(CancellationToken cancellationToken)
    {
        var path = Path.Combine(AssetPaths.CacheDirectory, "bench", "synthetic-20s.mp3");
        if (File.Exists(path)) return path;
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var song = await SyntheticSong.CreateAsync(20, cancellationToken: cancellationToken);
        var wav = $"{path}.{Environment.ProcessId}.wav";
        var mp3 = $"{path}.{Environment.ProcessId}.mp3";
        try
        {
            await song.WriteMixAsync(wav, mp3, cancellationToken);
            File.Move(mp3, path, overwrite: true);
        }
        finally
        {
            File.Delete(wav);
            File.Delete(mp3);
        }
        return path;
    }

    /// <summary>
    /// <paramref name="song"/> repeated up to <paramref name="seconds"/>, as a file of its own format in
    /// <paramref name="directory"/> (its frames copied, not encoded again: a 3-hour MP3 in seconds), for a benchmark that
    /// decodes a long song as a job does.
    /// </summary>
    public static async Task<string> LoopFileAsync(string song, int seconds, string directory, CancellationToken cancellationToken)
    {
        var looped = Path.Combine(directory, $"looped-{seconds}s{Path.GetExtension(song)}");
        var (exit, _) = await ExternalProgram.RunAsync("ffmpeg",
            ["-nostdin", "-hide_banner", "-v", "error", "-y", "-stream_loop", "-1", "-i", song, "-t",
             seconds.ToString(System.Globalization.CultureInfo.InvariantCulture), "-map", "0:a:0", "-c", "copy", looped],
            "to loop the benchmark's song", cancellationToken);
        if (exit.Code != 0) throw new InvalidOperationException($"ffmpeg could not loop {song}: {exit.Errors.Trim()}");
        return looped;
    }

    /// <summary><paramref name="song"/> repeated up to <paramref name="length"/> samples.</summary>
    public static AudioBuffer Loop(AudioBuffer song, int length)
    {
        var channels = new float[song.ChannelCount][];
        for (var c = 0; c < channels.Length; c++)
        {
            channels[c] = new float[length];
            for (var at = 0; at < length; at += song.Length)
                song.Channel(c).AsSpan(0, Math.Min(song.Length, length - at)).CopyTo(channels[c].AsSpan(at));
        }
        return new AudioBuffer(channels, song.SampleRate);
    }
}
