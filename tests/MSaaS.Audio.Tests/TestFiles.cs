using System.Buffers.Binary;
using System.Diagnostics;

namespace MSaaS.Audio.Tests;

/// <summary>Test inputs: the shared real song, files made from it with ffmpeg, and hand-built WAV files.</summary>
internal static class TestFiles
{
    public static string RealSong { get; } = Locate();

    public static string Temp(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "msaas-audio-tests");
        Directory.CreateDirectory(dir);
        return Path.Combine(dir, $"{Guid.NewGuid():N}-{name}");
    }

    /// <summary>Runs ffmpeg on the real song with <paramref name="args"/> and returns the output file.</summary>
    public static string Transcode(string name, params string[] args)
    {
        var output = Temp(name);
        var info = new ProcessStartInfo("ffmpeg") { RedirectStandardError = true };
        foreach (var a in (string[])["-nostdin", "-v", "error", "-y", "-i", RealSong, .. args, output]) info.ArgumentList.Add(a);
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

    public static float[] Sine(int length, double cyclesPerSample, float amplitude = 0.5f) =>
        Enumerable.Range(0, length).Select(i => amplitude * (float)Math.Sin(2 * Math.PI * cyclesPerSample * i)).ToArray();

    private static string Locate()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MSaaS.sln")))
                return Path.GetFullPath(Path.Combine(dir.FullName, "..", "shared", "fixtures", "real", "demucs-test.mp3"));
        throw new DirectoryNotFoundException("no MSaaS.sln above the test binaries");
    }
}
