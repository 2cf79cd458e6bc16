using System.Globalization;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;

namespace MSaaS.Api.Mixing;

/// <summary>
/// Mixes stems into one MP3: ffmpeg decodes the stems and sums them, each times its gain (amix without
/// normalisation), and streams the sum as 32-bit float to LAME (<see cref="Mp3Writer"/>) a block at a time, so a long
/// song never sits in memory. Samples beyond full scale are clipped.
/// </summary>
public sealed class StemMixer(string ffmpeg = "ffmpeg")
{
    private const int BlockFrames = 1 << 15;

    /// <summary>Writes the mix of <paramref name="stems"/> (MP3 files) at <paramref name="gains"/> to <paramref name="mp3"/> (seekable).</summary>
    public async Task MixAsync(IReadOnlyList<string> stems, IReadOnlyList<double> gains, Stream mp3, Mp3Options options,
        CancellationToken cancellationToken = default)
    {
        if (stems.Count != gains.Count) throw new ArgumentException("one gain per stem", nameof(gains));
        var used = Enumerable.Range(0, stems.Count).Where(i => gains[i] > 0).ToList();
        if (used.Count == 0) throw new ArgumentException("at least one gain must be above 0", nameof(gains));

        var args = new List<string> { "-nostdin", "-hide_banner", "-v", "error" };
        foreach (var i in used) args.AddRange(["-i", stems[i]]);
        var weights = string.Join(' ', used.Select(i => gains[i].ToString("0.####", CultureInfo.InvariantCulture)));
        args.AddRange(["-filter_complex", $"amix=inputs={used.Count}:weights={weights}:normalize=0:duration=longest",
            "-f", "f32le", "-acodec", "pcm_f32le", "-ar", options.SampleRate.ToString(CultureInfo.InvariantCulture), "-ac", "2", "pipe:1"]);

        using var writer = new Mp3Writer(mp3, options);
        ExternalProgram.Exit exit;
        try
        {
            exit = await ExternalProgram.StreamAsync(ffmpeg, args, "to mix stems", (pcm, token) => EncodeAsync(pcm, writer, token), cancellationToken);
        }
        catch (ProgramMissingException e)
        {
            throw new MixException(e.Message, e);
        }
        if (exit.Code != 0)
            throw new MixException($"ffmpeg could not mix the stems: {LastLine(exit.Errors)}");
        writer.Complete();
    }

    // Interleaved stereo float from ffmpeg, split into the two channels LAME takes, a block at a time.
    private static async Task EncodeAsync(Stream pcm, Mp3Writer writer, CancellationToken cancellationToken)
    {
        var left = new float[BlockFrames];
        var right = new float[BlockFrames];
        var trailing = await InterleavedPcm.ReadAsync(pcm, 2, BlockFrames, (samples, frames) =>
        {
            for (var f = 0; f < frames; f++)
            {
                left[f] = Math.Clamp(samples[2 * f], -1f, 1f);
                right[f] = Math.Clamp(samples[2 * f + 1], -1f, 1f);
            }
            writer.Write(left.AsSpan(0, frames), right.AsSpan(0, frames));
        }, cancellationToken);
        if (trailing != 0) throw new MixException("ffmpeg's output ended within a sample");
    }

    private static string LastLine(string text) =>
        text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).LastOrDefault() ?? "no message";
}

/// <summary>A mix that could not be made (ffmpeg missing or failing on a stem).</summary>
public sealed class MixException : Exception
{
    public MixException(string message) : base(message)
    {
    }

    public MixException(string message, Exception inner) : base(message, inner)
    {
    }

    public MixException()
    {
    }
}
