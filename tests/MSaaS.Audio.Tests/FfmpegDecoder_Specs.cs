using MSaaS.Testing;

namespace MSaaS.Audio.Tests;

public class FfmpegDecoder_Specs
{
    private readonly FfmpegDecoder _decoder = new();

    [Fact]
    public async Task Should_decode_an_mp3_to_stereo_at_44100_close_to_what_was_encoded()
    {
        var song = await TestData.Song;

        var audio = await _decoder.DecodeAsync(song.Mp3);

        Assert.Equal((44_100, 2), (audio.SampleRate, audio.ChannelCount));
        // The LAME tag carries the encoder delay and padding: the decoded length is the encoded one.
        Assert.Equal(song.Song.Mix.Length, audio.Length);
        Assert.All(new[] { audio.Channel(0), audio.Channel(1) }, c => Assert.All(c, s => Assert.True(float.IsFinite(s))));
        for (var c = 0; c < 2; c++)
        {
            var error = new float[audio.Length];
            for (var i = 0; i < error.Length; i++) error[i] = audio.Channel(c)[i] - song.Song.Mix.Channel(c)[i];
            // Measured 6 % (-24 dB) at 320 kbps; a shift of even a few samples would be far worse.
            Assert.True(Rms(error) < 0.1 * Rms(song.Song.Mix.Channel(c)), $"channel {c} decodes far from the mix that was encoded");
        }
    }

    [Theory]
    [InlineData("vbr.mp3", new[] { "-c:a", "libmp3lame", "-q:a", "5" })]
    [InlineData("tagged.mp3", new[] { "-c:a", "libmp3lame", "-b:a", "192k", "-id3v2_version", "3", "-metadata", "title=A song", "-metadata", "artist=Someone" })]
    [InlineData("song.flac", new[] { "-c:a", "flac" })]
    [InlineData("song.ogg", new[] { "-c:a", "libvorbis" })]
    [InlineData("song.m4a", new[] { "-c:a", "aac" })]
    [InlineData("song48k.wav", new[] { "-ar", "48000" })]
    public async Task Should_decode_other_formats_and_rates_to_the_same_length(string name, string[] args)
    {
        var file = await TestFiles.Transcode(name, args);

        var audio = await _decoder.DecodeAsync(file);

        Assert.Equal(44_100, audio.SampleRate);
        Assert.InRange(audio.Duration.TotalSeconds, 19.9, 20.15);
    }

    [Fact]
    public async Task Should_duplicate_mono_and_resample()
    {
        var tone = TestFiles.Sine(22_050, 1000.0 / 22_050);
        var file = TestFiles.FloatWav(22_050, tone);

        var audio = await _decoder.DecodeAsync(file);

        Assert.Equal(2, audio.ChannelCount);
        Assert.InRange(audio.Length, 44_000, 44_200);
        Assert.Equal(audio.Channel(0), audio.Channel(1));
        // A 1 kHz tone stays a 1 kHz tone: about 2000 sign changes in one second.
        var crossings = Enumerable.Range(1000, 42_000).Count(i => audio.Channel(0)[i] >= 0 != audio.Channel(0)[i - 1] >= 0);
        Assert.InRange(crossings, 1900, 1910); // 2 * 1000 Hz * 42000 / 44100
        Assert.InRange(Rms(audio.Channel(0).AsSpan(1000, 40_000)), 0.34, 0.37); // 0.5 / sqrt(2): no -3 dB upmix
    }

    [Fact]
    public async Task Should_keep_the_first_two_channels_of_a_multichannel_file()
    {
        var file = TestFiles.FloatWav(44_100, TestFiles.Sine(4410, 0.01), TestFiles.Sine(4410, 0.02), TestFiles.Sine(4410, 0.03));

        var audio = await _decoder.DecodeAsync(file);

        Assert.Equal(2, audio.ChannelCount);
        Assert.Equal(TestFiles.Sine(4410, 0.02)[100], audio.Channel(1)[100], 4);
    }

    [Fact]
    public async Task Should_refuse_a_file_that_is_not_audio()
    {
        var file = TestFiles.Temp("notes.mp3");
        await File.WriteAllTextAsync(file, "these are not the droids you are looking for\n");
        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file));
        Assert.Contains("not audio", error.Message);
    }

    [Fact]
    public async Task Should_refuse_an_empty_file()
    {
        var file = TestFiles.Temp("empty.mp3");
        await File.WriteAllBytesAsync(file, []);
        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file));
        Assert.Contains("empty", error.Message);
    }

    [Theory]
    [InlineData("empty")]
    [InlineData("cut")]
    [InlineData("text")]
    public async Task Should_name_a_refused_file_as_the_caller_knows_it_never_by_its_local_path(string kind)
    {
        // A worker decodes a scratch copy; the reason goes back to the client, who knows the song by its stored name.
        var file = TestFiles.Temp("upload");
        var bytes = await File.ReadAllBytesAsync((await TestData.Song).Mp3);
        await File.WriteAllBytesAsync(file, kind switch
        {
            "empty" => [],
            "cut" => bytes[..(bytes.Length / 2 + 17)],
            _ => "not a song at all, just words"u8.ToArray(),
        });

        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file, name: "queue/abc.mp3"));

        Assert.StartsWith("queue/abc.mp3 ", error.Message);
        Assert.DoesNotContain(Path.GetDirectoryName(file)!, error.Message);
    }

    [Fact]
    public async Task Should_refuse_audio_without_samples()
    {
        var file = TestFiles.FloatWav(44_100, [], []);
        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file));
        Assert.Contains("no audio samples", error.Message);
    }

    [Fact]
    public async Task Should_refuse_a_wav_cut_short()
    {
        var whole = await TestFiles.Transcode("whole.wav", "-c:a", "pcm_s16le");
        var cut = TestFiles.Temp("cut.wav");
        var bytes = await File.ReadAllBytesAsync(whole);
        await File.WriteAllBytesAsync(cut, bytes[..(bytes.Length / 2)]);

        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(cut));
        Assert.Contains("truncated", error.Message);
    }

    [Theory]
    [InlineData(false)] // in the middle of a frame
    [InlineData(true)]  // after the Xing frame and three whole frames: nothing is damaged, but the header counts 20 s
    public async Task Should_refuse_an_mp3_cut_short(bool atFrameBoundary)
    {
        var cut = TestFiles.Temp("cut.mp3");
        var bytes = await File.ReadAllBytesAsync((await TestData.Song).Mp3);
        var keep = atFrameBoundary ? TestFiles.FrameBoundary(bytes, 4) : bytes.Length / 2 + 17;
        await File.WriteAllBytesAsync(cut, bytes[..keep]);

        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(cut));
        Assert.Matches("truncated|corrupt|no audio", error.Message);
    }

    [Fact]
    public async Task Should_refuse_an_mp3_with_garbage_inside()
    {
        var bytes = await File.ReadAllBytesAsync((await TestData.Song).Mp3);
        new Random(1).NextBytes(bytes.AsSpan(200_000, 20_000));
        var file = TestFiles.Temp("garbled.mp3");
        await File.WriteAllBytesAsync(file, bytes);

        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file));
        Assert.Contains("corrupt", error.Message);
    }

    [Fact]
    public async Task Should_accept_junk_after_the_last_frame()
    {
        var bytes = (await File.ReadAllBytesAsync((await TestData.Song).Mp3)).Concat("trailing junk, not a frame"u8.ToArray()).ToArray();
        var file = TestFiles.Temp("junk-at-end.mp3");
        await File.WriteAllBytesAsync(file, bytes);

        var audio = await _decoder.DecodeAsync(file);

        Assert.InRange(audio.Duration.TotalSeconds, 19.9, 20.1);
    }

    [Fact]
    public async Task Should_refuse_non_finite_samples()
    {
        var samples = TestFiles.Sine(1000, 0.01);
        samples[500] = float.NaN;
        var file = TestFiles.FloatWav(44_100, samples, samples);
        var error = await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeAsync(file));
        Assert.Contains("NaN", error.Message);
    }

    [Fact]
    public async Task Should_decode_to_disk_the_samples_it_decodes_into_memory()
    {
        var song = await TestData.Song;
        var directory = Directory.CreateDirectory(TestFiles.Temp("spool")).FullName;

        var inMemory = await _decoder.DecodeAsync(song.Mp3);
        using var spooled = await _decoder.DecodeToDiskAsync(song.Mp3, directory);

        Assert.Equal((inMemory.SampleRate, inMemory.ChannelCount, (long)inMemory.Length), (spooled.SampleRate, spooled.ChannelCount, spooled.Length));
        for (var c = 0; c < 2; c++)
        {
            var read = new float[inMemory.Length];
            spooled.Read(c, 0, read);
            Assert.True(inMemory.Channel(c).AsSpan().SequenceEqual(read), $"channel {c} differs");
        }
        // Any window, as a separator reads it: a segment that starts part-way.
        var window = new float[1000];
        spooled.Read(1, 123_457, window);
        Assert.True(inMemory.Channel(1).AsSpan(123_457, 1000).SequenceEqual(window));
        Assert.Throws<ArgumentOutOfRangeException>(() => spooled.Read(0, spooled.Length - 10, new float[11]));
        // Gathered as it was written, not read back: the same as the whole decoded song's.
        var expected = MonoStatistics.Of(inMemory);
        Assert.Equal(expected.Mean, spooled.MonoStatistics.Mean, 1e-12);
        Assert.Equal(expected.StandardDeviation, spooled.MonoStatistics.StandardDeviation, 1e-9);
        Assert.InRange(spooled.MonoStatistics.StandardDeviation, 0.01, 1);
    }

    [Fact]
    public async Task Should_keep_a_mono_song_on_disk_once_and_read_it_as_both_channels()
    {
        var tone = TestFiles.Sine(44_100, 440.0 / 44_100);
        var file = TestFiles.FloatWav(44_100, tone);
        var directory = Directory.CreateDirectory(TestFiles.Temp("spool")).FullName;

        using var spooled = await _decoder.DecodeToDiskAsync(file, directory);

        Assert.Equal(2, spooled.ChannelCount);
        var (left, right) = (new float[tone.Length], new float[tone.Length]);
        spooled.Read(0, 0, left);
        spooled.Read(1, 0, right);
        Assert.Equal(tone, left);
        Assert.Equal(tone, right);
        Assert.Equal(tone.Length * sizeof(float), new DirectoryInfo(directory).EnumerateFiles().Sum(f => f.Length));
        var expected = MonoStatistics.Of(new AudioBuffer([tone], 44_100));
        Assert.Equal(expected.Mean, spooled.MonoStatistics.Mean, 1e-12);
        Assert.Equal(expected.StandardDeviation, spooled.MonoStatistics.StandardDeviation, 1e-9);
        Assert.InRange(spooled.MonoStatistics.StandardDeviation, 0.3, 0.4); // a sine of amplitude 0.5: 0.354
    }

    [Fact]
    public async Task Should_leave_nothing_on_disk_once_disposed_or_refused()
    {
        var song = await TestData.Song;
        var directory = Directory.CreateDirectory(TestFiles.Temp("spool")).FullName;
        var samples = TestFiles.Sine(1000, 0.01);
        samples[500] = float.NaN;
        var damaged = TestFiles.FloatWav(44_100, samples, samples);

        using (await _decoder.DecodeToDiskAsync(song.Mp3, directory))
            Assert.Equal(2, Directory.GetFiles(directory).Length);
        await Assert.ThrowsAsync<AudioFormatException>(() => _decoder.DecodeToDiskAsync(damaged, directory));

        Assert.Empty(Directory.GetFiles(directory));
    }

    [Theory]
    [InlineData("declared.mp3", new[] { "-c:a", "libmp3lame", "-b:a", "128k" })] // its header says 20 s: refused before decoding
    [InlineData("undeclared.mp3", new[] { "-c:a", "libmp3lame", "-q:a", "5", "-write_xing", "0" })] // VBR, no header: counted
    public async Task Should_refuse_audio_longer_than_the_limit_without_spooling_it(string name, string[] args)
    {
        var file = await TestFiles.Transcode(name, args);
        var directory = Directory.CreateDirectory(TestFiles.Temp("spool")).FullName;

        var error = await Assert.ThrowsAsync<AudioFormatException>(() =>
            _decoder.DecodeToDiskAsync(file, directory, maxLength: TimeSpan.FromSeconds(12)));

        Assert.Contains($"{name} is longer than the 12 seconds", error.Message);
        Assert.Empty(Directory.GetFiles(directory));
        using var whole = await _decoder.DecodeToDiskAsync(file, directory, maxLength: TimeSpan.FromSeconds(21));
        Assert.InRange(whole.Duration.TotalSeconds, 19.9, 20.1);
    }

    [Fact]
    public async Task Should_say_when_the_file_does_not_exist() =>
        await Assert.ThrowsAsync<FileNotFoundException>(() => _decoder.DecodeAsync("/no/such/song.mp3"));

    [Fact]
    public async Task Should_say_when_ffmpeg_is_missing()
    {
        var song = (await TestData.Song).Mp3;
        var error = await Assert.ThrowsAsync<ProgramMissingException>(() =>
            new FfmpegDecoder("/nonexistent/ffmpeg", "/nonexistent/ffprobe").DecodeAsync(song));
        Assert.Contains("install ffmpeg", error.Message);
    }

    private static double Rms(ReadOnlySpan<float> samples)
    {
        double sum = 0;
        foreach (var s in samples) sum += s * s;
        return Math.Sqrt(sum / samples.Length);
    }
}
