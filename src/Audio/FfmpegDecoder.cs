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
    /// Decodes <paramref name="path"/> into memory, <paramref name="channels"/> channels at <paramref name="sampleRate"/> Hz:
    /// for short audio (a stem's test, a benchmark's song). Errors call the file <paramref name="name"/> (default: its
    /// file name), e.g. the stored object it was downloaded from.
    /// </summary>
    public async Task<AudioBuffer> DecodeAsync(string path, int sampleRate = 44_100, int channels = 2, string? name = null,
        CancellationToken cancellationToken = default)
    {
        var blocks = new PlaneBlocks(name ?? Path.GetFileName(path), sampleRate);
        var frames = await DecodeBlocksAsync(path, blocks.Add, sampleRate, channels, name, cancellationToken: cancellationToken);
        return new AudioBuffer(blocks.Assemble((int)frames, channels), sampleRate);
    }

    /// <summary>
    /// Decodes <paramref name="path"/> as <see cref="DecodeAsync(string, int, int, string?, CancellationToken)"/> does, to
    /// files in <paramref name="directory"/> rather than memory: what a song of any length is decoded to. The files go
    /// when the result is disposed.
    /// </summary>
    /// <param name="maxLength">The longest audio taken: longer is refused (<see cref="AudioFormatException"/>) as soon as the
    /// file's header says so or that much has decoded, without writing the rest.</param>
    public async Task<SpooledAudio> DecodeToDiskAsync(string path, string directory, int sampleRate = 44_100, int channels = 2,
        string? name = null, TimeSpan? maxLength = null, CancellationToken cancellationToken = default)
    {
        using var writer = new SpooledAudio.Writer(directory);
        await DecodeBlocksAsync(path, writer.Write, sampleRate, channels, name, maxLength, cancellationToken);
        return writer.Complete(channels, sampleRate);
    }

    /// <summary>
    /// Decodes <paramref name="path"/> a block at a time: <paramref name="onBlock"/> takes the first <c>count</c> samples of
    /// each channel kept (the file's first <paramref name="channels"/>: one plane for a mono file), in order, as ffmpeg
    /// decodes them. Returns the samples per channel once the whole file is decoded and judged sound; a file judged
    /// damaged throws <see cref="AudioFormatException"/> after its blocks were handed on.
    /// </summary>
    public async Task<long> DecodeBlocksAsync(string path, Action<float[][], int> onBlock, int sampleRate = 44_100, int channels = 2,
        string? name = null, TimeSpan? maxLength = null, CancellationToken cancellationToken = default)
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
        long frames = 0;
        var finite = true;
        var maxFrames = maxLength is { } most ? (long)(most.TotalSeconds * sampleRate) : long.MaxValue;
        var exit = await ExternalProgram.StreamAsync(ffmpeg, args, Purpose, async (pcm, token) =>
        {
            var probed = await probing;
            if (maxLength is { } limit && probed.DeclaredSeconds > limit.TotalSeconds) throw TooLong(name, limit);
            finite = await ReadPlanesAsync(pcm, probed.Channels, Math.Min(probed.Channels, channels), (planes, count) =>
            {
                if (frames + count > maxFrames) throw TooLong(name, maxLength!.Value);
                onBlock(planes, count);
                frames += count;
            }, token);
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

        if (probe.DeclaredSeconds is { } declared && decodedSeconds < declared * 0.98 - 0.5)
            throw new AudioFormatException(
                $"{name} is truncated: its header declares {declared:F1} s but only {decodedSeconds:F1} s decode");
        if (!finite)
            throw new AudioFormatException($"{name} contains NaN or infinite samples");
        return frames;
    }

    private static AudioFormatException TooLong(string name, TimeSpan maxLength) =>
        new($"{name} is longer than the {Length(maxLength)} this service separates");

    private static string Length(TimeSpan length) => length switch
    {
        { TotalHours: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{length.TotalHours:0.##} hours"),
        { TotalMinutes: >= 1 } => string.Create(CultureInfo.InvariantCulture, $"{length.TotalMinutes:0.##} minutes"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{length.TotalSeconds:0.##} seconds"),
    };

    /// <summary>
    /// The song's length as ffprobe reads it from its headers (for a VBR MP3 without a Xing header, estimated from the
    /// bitrate), without decoding it; <see cref="AudioFormatException"/> for what is not audio or says no length.
    /// </summary>
    public async Task<TimeSpan> ProbeLengthAsync(string path, string name, CancellationToken cancellationToken = default)
    {
        var (exit, stdout) = await ExternalProgram.RunAsync(ffprobe,
            ["-v", "error", "-hide_banner", "-show_entries", "format=duration", "-of", "json", path], Purpose, cancellationToken);
        if (exit.Code != 0)
            throw new AudioFormatException($"{name} is not audio that ffmpeg can read ({LastLine(exit.Errors.Trim(), "ffprobe failed").Replace(path, name, StringComparison.Ordinal)})");
        using var json = JsonDocument.Parse(stdout);
        return json.RootElement.TryGetProperty("format", out var format) && Seconds(format) is { } seconds and > 0
            ? TimeSpan.FromSeconds(seconds)
            : throw new AudioFormatException($"{name} does not say how long it is");
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

    // The first `kept` channels of ffmpeg's interleaved output, a block of each channel at a time; whether every sample was finite.
    private static async Task<bool> ReadPlanesAsync(
        Stream pcm, int channels, int kept, Action<float[][], int> onBlock, CancellationToken cancellationToken)
    {
        const int blockFrames = 8192;
        var planes = new float[kept][];
        for (var c = 0; c < kept; c++) planes[c] = new float[blockFrames];
        var finite = true;
        await InterleavedPcm.ReadAsync(pcm, channels, blockFrames, (samples, whole) =>
        {
            for (var c = 0; c < kept; c++)
            {
                var plane = planes[c];
                for (var f = 0; f < whole; f++) plane[f] = samples[f * channels + c];
                finite &= TensorPrimitives.IsFiniteAll<float>(plane.AsSpan(0, whole));
            }
            onBlock(planes, whole);
        }, cancellationToken);
        return finite;
    }

    /// <summary>Decoded blocks gathered in memory, then made one array per channel.</summary>
    private sealed class PlaneBlocks(string name, int sampleRate)
    {
        private List<float[]>[] _blocks = [];
        private long _frames;

        public void Add(float[][] planes, int count)
        {
            if (_blocks.Length == 0) _blocks = [.. planes.Select(_ => new List<float[]>())];
            if (_frames + count > Array.MaxLength)
                throw new AudioFormatException($"{name} is too long to decode into memory ({(_frames + count) / (double)sampleRate:F0} s)");
            for (var done = 0; done < count;)
            {
                var at = (int)(_frames % BlockSamples);
                var n = Math.Min(count - done, BlockSamples - at);
                for (var c = 0; c < planes.Length; c++)
                {
                    if (at == 0) _blocks[c].Add(new float[BlockSamples]);
                    planes[c].AsSpan(done, n).CopyTo(_blocks[c][^1].AsSpan(at));
                }
                done += n;
                _frames += n;
            }
        }

        public float[][] Assemble(int frames, int channels)
        {
            var result = new float[channels][];
            for (var c = 0; c < channels; c++)
            {
                if (c >= _blocks.Length)
                {
                    result[c] = (float[])result[0].Clone(); // mono: the one channel on both sides
                    continue;
                }
                var target = new float[frames];
                for (var b = 0; b < _blocks[c].Count; b++)
                {
                    var start = b * BlockSamples;
                    _blocks[c][b].AsSpan(0, Math.Min(BlockSamples, frames - start)).CopyTo(target.AsSpan(start));
                }
                _blocks[c].Clear();
                result[c] = target;
            }
            return result;
        }
    }

    private static double? Seconds(JsonElement element) =>
        element.TryGetProperty("duration", out var d) && d.ValueKind == JsonValueKind.String &&
        double.TryParse(d.GetString(), NumberStyles.Float, CultureInfo.InvariantCulture, out var s) ? s : null;

    private static string FirstLine(string text) => text.Split('\n')[0].Trim();

    private static string LastLine(string text, string fallback) =>
        text.Length == 0 ? fallback : text.Split('\n', StringSplitOptions.RemoveEmptyEntries)[^1].Trim();

    private sealed record Probe(int Channels, double? DeclaredSeconds);
}
