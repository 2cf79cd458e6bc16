using System.Buffers.Binary;
using System.Diagnostics;
using MSaaS.Testing;

namespace MSaaS.Audio.Tests;

/// <summary>Test inputs: the synthetic song (tests/Shared), files made from it with ffmpeg, and hand-built WAV files.</summary>
internal static class TestFiles
{
    public static string Temp(string name) => TestData.Temp(name);

    /// <summary>Runs ffmpeg on the synthetic song's mix with <paramref name="args"/> and returns the output file.</summary>
    public static async Task<string> Transcode(string name, params string[] args)
    {
        var output = Temp(name);
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var a in (string[])["-nostdin", "-v", "error", "-y", "-i", (await TestData.Song).Wav, .. args, output]) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.True(process.ExitCode == 0, errors);
        return output;
    }

    /// <summary>A WAV file of float32 samples (format 3), interleaved from <paramref name="channels"/>.</summary>
    public static string FloatWav(int sampleRate, params float[][] channels)
    {
        var frames = channels.Length == 0 ? 0 : channels[0].Length;
        var data = frames * channels.Length * 4;
        var bytes = new byte[44 + data];
        "RIFF"u8.CopyTo(bytes);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(4), 36 + data);
        "WAVEfmt "u8.CopyTo(bytes.AsSpan(8));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(16), 16);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(20), 3);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(22), (short)channels.Length);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(24), sampleRate);
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(28), sampleRate * channels.Length * 4);
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(32), (short)(channels.Length * 4));
        BinaryPrimitives.WriteInt16LittleEndian(bytes.AsSpan(34), 32);
        "data"u8.CopyTo(bytes.AsSpan(36));
        BinaryPrimitives.WriteInt32LittleEndian(bytes.AsSpan(40), data);
        for (var f = 0; f < frames; f++)
            for (var c = 0; c < channels.Length; c++)
                BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(44 + (f * channels.Length + c) * 4), channels[c][f]);
        var path = Temp("float.wav");
        File.WriteAllBytes(path, bytes);
        return path;
    }

    /// <summary>
    /// Where the first MPEG audio frame after <paramref name="skipFrames"/> frames begins in an MP3 file (the ID3 tag
    /// skipped): a boundary at which a cut leaves only whole frames.
    /// </summary>
    public static int FrameBoundary(byte[] mp3, int skipFrames)
    {
        var at = 0;
        if (mp3.AsSpan().StartsWith("ID3"u8)) at = 10 + (mp3[6] << 21 | mp3[7] << 14 | mp3[8] << 7 | mp3[9]);
        int[] bitrates = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320];
        for (var frame = 0; frame < skipFrames; frame++)
        {
            Assert.True(mp3[at] == 0xFF && (mp3[at + 1] & 0xFE) == 0xFA, $"no MPEG-1 layer III frame at byte {at}");
            var kbps = bitrates[mp3[at + 2] >> 4];
            var padding = (mp3[at + 2] >> 1) & 1;
            at += 144_000 * kbps / 44_100 + padding;
        }
        return at;
    }

    public static float[] Sine(int length, double cyclesPerSample, float amplitude = 0.5f) =>
        Enumerable.Range(0, length).Select(i => amplitude * (float)Math.Sin(2 * Math.PI * cyclesPerSample * i)).ToArray();

}
