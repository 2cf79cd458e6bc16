using System.Globalization;
using System.Numerics.Tensors;
using System.Text.Json;

namespace MSaaS.Audio;

/// <summary>
/// Decodes any format ffmpeg reads (MP3 with ID3 tags and VBR, WAV, FLAC, OGG, M4A, ...) to planar float at the
/// requested rate. Mono is duplicated to both channels and only the first two of a multi-channel file are kept,
/// as demucs does. Damaged input is refused rather than separated: ffmpeg's decode errors, a file shorter than
/// its header declares, no audio stream, no samples, or non-finite samples all raise <see cref="AudioFormatException"/>.
/// </summary>
public sealed class FfmpegDecoder(string ffmpeg = "ffmpeg", string ffprobe = "ffprobe")
{
    private const int BlockSamples = 1 << 18;
    private const string Purpose = "to decode audio";

    /// <summary>
    /// Decodes <paramref name="path"/> to <paramref name="channels"/> channels at <paramref name="sampleRate"/> Hz. Errors
    /// call the file <paramref name="name"/> (default: its file name), e.g. the stored object it was downloaded from.
    /// </summary>
    public async Task<AudioBuffer> DecodeAsync(string path, int sampleRate = 44_100, int channels = 2, string? name = null,
        CancellationToken cancellationToken = default)
    {
        name ??= Path.GetFileName(path);
        if (!File.Exists(path)) throw new FileNotFoundException($"input file not found: {path}", path);
        if (new FileInfo(path).Length == 0) throw new AudioFormatException($"{name} is empty (0 bytes)");

        RiffCheck.ThrowIfTruncated(path, name);
        var args = new List<string>
        {
            "-nostdin", "-hide_banner", "-v", "error", "-i", path, "-map", "0:a:0", "-vn",
            "-f", "f32le", "-acodec", "pcm_f32le", "-ar", sampleRate.ToString(CultureInfo.InvariantCulture), "pipe:1",
        };

        // ffmpeg starts decoding while ffprobe reads the header (its output waits in the pipe until the channel
        // count is known); one after the other, the two process start-ups cost a 30 s song a tenth of a second.
        var probing = ProbeAsync(path, name, cancellationToken);
        List<float[]>[] blocks = [];
        long frames = 0;
        var exit = await ExternalProgram.StreamAsync(ffmpeg, args, Purpose, async (pcm, token) =>
        {
            var sourceChannels = (await probing).Channels;
            (blocks, frames) = await ReadPlanesAsync(pcm, sourceChannels, Math.Min(sourceChannels, channels), token);
        }, cancellationToken);
        var probe = await probing;
        // ffmpeg names the file by its path here (a scratch directory): the error names it as the caller knows it.
        var stderr = exit.Errors.Trim().Replace(path, name, StringComparison.Ordinal);
        // Killed (128 + the signal: out of memory, a stop) says nothing about the song: not a refusal of its bytes.
        if (exit.Code > 128 && stderr.Length == 0)
            throw new InvalidOperationException($"ffmpeg stopped with exit code {exit.Code} while decoding {name}");
        if (exit.Code != 0)
            throw new AudioFormatException($"{name} could not be decoded: {LastLine(stderr, "ffmpeg failed")}");
        var decodedSeconds = frames / (double)sampleRate;
        // ffmpeg also complains about junk after the last frame, which real files often carry: decode errors
        // fail the song only when audio is missing, or when no header says how much there should be.
        if (stderr.Length > 0 && !(probe.DeclaredSeconds is { } expected && decodedSeconds >= expected * 0.99))
            throw new AudioFormatException($"{name} is corrupt: {FirstLine(stderr)}");
        if (frames == 0)
            throw new AudioFormatException($"{name} contains no audio samples");
        if (frames > Array.MaxLength)
            throw new AudioFormatException($"{name} is too long ({frames / (double)sampleRate:F0} s)");

        if (probe.DeclaredSeconds is { } declared && decodedSeconds < declared * 0.98 - 0.5)
            throw new AudioFormatException(
                $"{name} is truncated: its header declares {declared:F1} s but only {decodedSeconds:F1} s decode");

        return new AudioBuffer(Assemble(blocks, (int)frames, channels, name), sampleRate);
    }

    private async Task<Probe> ProbeAsync(string path, string name, CancellationToken cancellationToken)
    {
        var (exit, stdout) = await ExternalProgram.RunAsync(ffprobe,
        [
            "-v", "warning", "-hide_banner", "-select_streams", "a:0",
            "-show_entries", "stream=channels,sample_rate,duration:format=duration", "-of", "json", path,
        ], Purpose, cancellationToken);
        var warnings = exit.Errors.Trim();
        if (exit.Code != 0)
            throw new AudioFormatException($"{name} is not audio that ffmpeg can read ({LastLine(warnings, "ffprobe failed").Replace(path, name, StringComparison.Ordinal)})");

        using var json = JsonDocument.Parse(stdout);
        if (!json.RootElement.TryGetProperty("streams", out var streams) || streams.GetArrayLength() == 0)
            throw new AudioFormatException($"{name} has no audio stream");
        var stream = streams[0];
        var channels = stream.TryGetProperty("channels", out var ch) ? ch.GetInt32() : 0;
        if (channels <= 0)
            throw new AudioFormatException($"{name} has an audio stream with no channels");

        // A duration estimated from the bitrate (VBR without a Xing header) is a guess, not a declaration.
        double? declared = null;
        if (!warnings.Contains("Estimating duration from bitrate", StringComparison.Ordinal))
            declared = Seconds(stream) ?? (json.RootElement.TryGetProperty("format", out var format) ? Seconds(format) : null);
        return new Probe(channels, declared);
    }

    // The first <paramref name="kept"/> channels of ffmpeg's interleaved output, into blocks of each channel.
    private static async Task<(List<float[]>[] Blocks, long Frames)> ReadPlanesAsync(
        Stream pcm, int channels, int kept, CancellationToken cancellationToken)
    {
        var blocks = new List<float[]>[kept];
        for (var c = 0; c < kept; c++) blocks[c] = [];
        long frames = 0;
        await InterleavedPcm.ReadAsync(pcm, channels, 8192, (samples, whole) =>
        {
            for (var f = 0; f < whole; f++, frames++)
            {
                var block = (int)(frames / BlockSamples);
                var at = (int)(frames % BlockSamples);
                for (var c = 0; c < kept; c++)
                {
                    if (at == 0) blocks[c].Add(new float[BlockSamples]);
                    blocks[c][block][at] = samples[f * channels + c];
                }
            }
        }, cancellationToken);
        return (blocks, frames);
    }

    private static float[][] Assemble(List<float[]>[] blocks, int frames, int channels, string name)
    {
        var result = new float[channels][];
        for (var c = 0; c < channels; c++)
        {
            if (c >= blocks.Length)
            {
                result[c] = (float[])result[0].Clone(); // mono: the one channel on both sides
                continue;
            }
            var target = new float[frames];
            for (var b = 0; b < blocks[c].Count; b++)
            {
                var start = b * BlockSamples;
                blocks[c][b].AsSpan(0, Math.Min(BlockSamples, frames - start)).CopyTo(target.AsSpan(start));
            }
            blocks[c].Clear();
            if (!TensorPrimitives.IsFiniteAll<float>(target))
                throw new AudioFormatException($"{name} contains NaN or infinite samples");
            result[c] = target;
        }
        return result;
    }

    private static double? Seconds(JsonElement element) =>
        element.TryGetProperty("duration", out var d) && d.ValueKind == JsonValueKind.String &&
        double.TryParse(d.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null;

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static string LastLine(string text, string fallback) =>
        text.Length == 0 ? fallback : text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();

    private sealed record Probe(int Channels, double? DeclaredSeconds);
}
