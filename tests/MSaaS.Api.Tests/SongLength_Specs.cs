using MSaaS.Api.Uploads;
using MSaaS.Audio;

namespace MSaaS.Api.Tests;

/// <summary>The length a client's upload is charged by: read in-process from an MP3's headers, by ffprobe otherwise.</summary>
public sealed class SongLength_Specs : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("msaas-length-");
    private readonly SongLength _length = new(new FfmpegDecoder());

    [Fact]
    public async Task Should_read_an_mp3s_length_within_a_tenth_of_a_second()
    {
        var path = await Write("song.mp3", await ApiHost.Audio(7.5));

        Assert.InRange(await _length.ReadAsync(path, await File.ReadAllBytesAsync(path), default), 7.4, 7.6);
    }

    [Fact]
    public async Task Should_read_other_formats_with_ffprobe()
    {
        var wav = Path.Combine(_directory.FullName, "song.wav");
        var (made, _) = await ExternalProgram.RunAsync("ffmpeg", ["-nostdin", "-v", "error", "-f", "lavfi", "-i", "sine=duration=3", wav], "to make a test song");
        Assert.Equal(0, made.Code);

        Assert.InRange(await _length.ReadAsync(wav, await File.ReadAllBytesAsync(wav), default), 2.99, 3.01);
    }

    [Fact]
    public async Task Should_refuse_what_only_starts_as_an_mp3_does()
    {
        var path = await Write("fake.mp3", ApiHost.Song());

        var head = await File.ReadAllBytesAsync(path);

        await Assert.ThrowsAsync<AudioFormatException>(() => _length.ReadAsync(path, head, default));
    }

    private async Task<string> Write(string name, byte[] bytes)
    {
        var path = Path.Combine(_directory.FullName, name);
        await File.WriteAllBytesAsync(path, bytes);
        return path;
    }

    public void Dispose() => _directory.Delete(recursive: true);
}
