using System.Diagnostics;
using System.Text.Json;
using MSaaS.Audio.Mp3;
using Xunit.Abstractions;

namespace MSaaS.Audio.Tests;

public sealed class Mp3Writer_Specs(ITestOutputHelper output) : IDisposable
{
    private const int Rate = 44_100;

    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("msaas-mp3-");

    [Fact]
    public async Task Should_decode_to_the_input_length_and_close_to_the_input()
    {
        // 5.3 s: not a whole number of 1152-sample frames, so the padding must be accounted for.
        var (left, right) = Music(233_731);
        var path = Encode(new Mp3Options(), left, right, block: 10_000);

        var decoded = await new FfmpegDecoder().DecodeAsync(path);

        // The LAME tag tells the decoder the encoder's delay and padding: not a sample more or less.
        Assert.Equal(left.Length, decoded.Length);
        var snr = SignalRatio.Decibels([left, right], [decoded.Channel(0), decoded.Channel(1)]);
        Assert.True(snr > 25, $"SNR {snr:F1} dB");
        output.WriteLine($"CBR 320: decoded {decoded.Length} of {left.Length} samples, SNR {snr:F1} dB");
    }

    [Theory]
    [InlineData(320, 320_000)]
    [InlineData(128, 128_000)]
    public void Should_encode_at_the_constant_bitrate_and_rate_asked(int kbps, int expectedBitrate)
    {
        var (left, right) = Music(Rate * 3);
        var path = Encode(new Mp3Options { BitrateKbps = kbps }, left, right, block: 4096);

        var stream = Probe(path);
        Assert.Equal("mp3", stream.GetProperty("codec_name").GetString());
        Assert.Equal("44100", stream.GetProperty("sample_rate").GetString());
        Assert.Equal(2, stream.GetProperty("channels").GetInt32());
        Assert.Equal(expectedBitrate.ToString(System.Globalization.CultureInfo.InvariantCulture), stream.GetProperty("bit_rate").GetString());
    }

    [Fact]
    public async Task Should_encode_variable_bitrate_when_asked_smaller_as_the_quality_number_rises()
    {
        var (left, right) = Music(Rate * 3);
        var sizes = new List<long>();
        foreach (var quality in new[] { 0f, 4f, 8f })
        {
            var path = Encode(new Mp3Options { VbrQuality = quality }, left, right, block: 4096);
            // LAME names its tag "Xing" in a VBR file and "Info" in a CBR one.
            Assert.Contains("Xing", System.Text.Encoding.ASCII.GetString(File.ReadAllBytes(path).AsSpan(0, 200)));
            Assert.Equal(left.Length, (await new FfmpegDecoder().DecodeAsync(path)).Length);
            sizes.Add(new FileInfo(path).Length);
        }
        Assert.True(sizes[0] > sizes[1] && sizes[1] > sizes[2], $"sizes at quality 0, 4, 8: {string.Join(", ", sizes)}");
        Assert.True(sizes[1] < Rate * 3 * 320 / 8 * 0.9, "VBR at quality 4 should be well below 320 kbps");
    }

    [Theory]
    [InlineData(8, null)]
    [InlineData(400, null)]
    [InlineData(320, 10f)]
    public void Should_refuse_settings_out_of_range(int kbps, float? vbr) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new Mp3Writer(new MemoryStream(), new Mp3Options { BitrateKbps = kbps, VbrQuality = vbr }));

    public void Dispose() => _files.Delete(recursive: true);

    private string Encode(Mp3Options settings, float[] left, float[] right, int block)
    {
        var path = Path.Combine(_files.FullName, $"{Guid.NewGuid():N}.mp3");
        using var file = File.Create(path);
        using var writer = new Mp3Writer(file, settings);
        for (var at = 0; at < left.Length; at += block)
        {
            var n = Math.Min(block, left.Length - at);
            writer.Write(left.AsSpan(at, n), right.AsSpan(at, n));
        }
        writer.Complete();
        return path;
    }

    internal static (float[] Left, float[] Right) Music(int length)
    {
        var random = new Random(9);
        var left = new float[length];
        var right = new float[length];
        for (var i = 0; i < length; i++)
        {
            var t = (double)i / Rate;
            var chord = 0.2 * Math.Sin(2 * Math.PI * 220 * t) + 0.15 * Math.Sin(2 * Math.PI * 277.2 * t) + 0.1 * Math.Sin(2 * Math.PI * 329.6 * t);
            left[i] = (float)(chord + 0.02 * (random.NextDouble() - 0.5));
            right[i] = (float)(0.8 * chord + 0.1 * Math.Sin(2 * Math.PI * 1000 * t));
        }
        return (left, right);
    }

    private static JsonElement Probe(string path)
    {
        var info = new ProcessStartInfo("ffprobe") { RedirectStandardOutput = true };
        foreach (var a in new[] { "-v", "error", "-show_entries", "stream=codec_name,sample_rate,channels,bit_rate", "-of", "json", path })
            info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var json = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return JsonDocument.Parse(json).RootElement.GetProperty("streams")[0].Clone();
    }
}
