using MSaaS.Audio.Mp3;
using Xunit.Abstractions;

namespace MSaaS.Audio.Tests;

public sealed class StemFileSink_Specs(ITestOutputHelper output) : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("msaas-sink-").FullName;

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    public async Task Should_write_every_stem_as_mp3_decoding_to_its_input_whatever_thread_encodes_it(int encoderThreads)
    {
        var planes = Planes(150_001);

        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads))
        {
            Write(sink, planes, [65_536, 1, 30_000, 65_536]); // the separator's blocks, and odd ones
            await sink.CompleteAsync();
        }

        for (var s = 0; s < Stems.Count; s++)
        {
            var decoded = await new FfmpegDecoder().DecodeAsync(Path.Combine(_directory, Stems.Names[s] + ".mp3"));
            Assert.Equal(planes[2 * s].Length, decoded.Length);
            // Each stem is its own signal: a stem written to another's file (or blocks out of order) would not match.
            var snr = SignalRatio.Decibels([planes[2 * s], planes[2 * s + 1]], [decoded.Channel(0), decoded.Channel(1)]);
            output.WriteLine($"{encoderThreads} encoder thread(s): {Stems.Names[s]} SNR {snr:F1} dB");
            Assert.True(snr > 25, $"{Stems.Names[s]}: SNR {snr:F1} dB");
        }
        Assert.False(File.Exists(Path.Combine(_directory, "drums.wav")), "WAV was not asked for");
    }

    [Fact]
    public async Task Should_write_the_same_mp3_bytes_as_encoding_after_separation()
    {
        var planes = Planes(100_000);
        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads: 2))
        {
            Write(sink, planes, [65_536]);
            await sink.CompleteAsync();
        }

        Assert.Equal(await EncodedAtOnce(planes[6], planes[7]), await File.ReadAllBytesAsync(Path.Combine(_directory, "vocals.mp3")));
    }

    [Fact]
    public async Task Should_hand_a_listener_its_first_second_in_a_short_block_and_hold_the_separator_until_it_is_out()
    {
        var planes = Planes(200_000);
        var listener = new FirstAudioListener();
        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads: 2, listener) { FirstAudioWait = TimeSpan.FromMinutes(1) })
        {
            // The separator's first segment: 5.85 s at once, in this test 4.5 s.
            sink.Write(new StemFrames(planes, 0, 200_000));

            // Back only once every stem's first second was encoded and the listener said it is out.
            Assert.True(listener.FirstAudioOut.IsCompleted, "the separator went on before the first second was out");
            await sink.CompleteAsync();
        }

        Assert.All(listener.FirstSamplesIn, samples => Assert.Equal(49_152, samples)); // 1.11 s, not a whole 1.49 s block
        // The bytes are those of one encoding of the whole stem: the short first block changes nothing in them.
        Assert.Equal(await EncodedAtOnce(planes[6], planes[7]), await File.ReadAllBytesAsync(Path.Combine(_directory, "vocals.mp3")));
    }

    [Fact]
    public async Task Should_encode_the_first_second_on_the_waiting_separator_too_when_one_encoder_thread_has_every_stem()
    {
        var planes = Planes(200_000);
        var listener = new FirstAudioListener();
        int separating;
        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads: 1, listener) { FirstAudioWait = TimeSpan.FromSeconds(10) })
        {
            separating = Environment.CurrentManagedThreadId;
            sink.Write(new StemFrames(planes, 0, 200_000));
            Assert.True(listener.FirstAudioOut.IsCompleted, "the separator went on before the first second was out");
            await sink.CompleteAsync();
        }

        // Two at a time, not four one after another: half on the separating thread, half on the encoder's.
        Assert.Equal(Stems.Count / 2, listener.FirstThreads.Count(t => t == separating));
        Assert.Equal(2, listener.FirstThreads.Distinct().Count());
        Assert.All(listener.FirstSamplesIn, samples => Assert.Equal(49_152, samples));
        // Each stem's bytes are still one encoding of the whole stem, in order, whichever thread took its first second.
        for (var s = 0; s < Stems.Count; s++)
            Assert.Equal(await EncodedAtOnce(planes[2 * s], planes[2 * s + 1]), await File.ReadAllBytesAsync(Path.Combine(_directory, Stems.Names[s] + ".mp3")));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public async Task Should_tell_the_listener_where_a_segment_ended_once_its_last_block_is_encoded(int encoderThreads)
    {
        var planes = Planes(300_000);
        var listener = new SegmentListener();
        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads, listener) { FirstAudioWait = TimeSpan.Zero })
        {
            sink.Write(new StemFrames(planes, 0, 200_000));
            sink.SegmentEnded();
            sink.Write(new StemFrames(planes, 200_000, 100_000));
            sink.SegmentEnded();
            await sink.CompleteAsync();
        }

        // Each stem: its blocks' bytes, then the mark at the samples given to LAME by then, in that order; last, the
        // frames LAME held back, on completion.
        foreach (var events in listener.Events)
            Assert.Equal(["bytes 49152", "bytes 114688", "bytes 180224", "bytes 200000", "end 200000", "bytes 265536", "bytes 300000", "end 300000",
                "bytes 300000"], events);
    }

    [Fact]
    public async Task Should_write_wav_and_mp3_side_by_side_when_both_are_asked_for()
    {
        var planes = Planes(50_000);

        await using (var sink = new StemFileSink(_directory, ["wav", "mp3"], new Mp3Options()))
        {
            Write(sink, planes, [65_536]);
            await sink.CompleteAsync();
            Assert.Equal(["wav", "mp3"], sink.Formats);
        }

        foreach (var track in Stems.Names)
        {
            Assert.Equal(50_000, (await new FfmpegDecoder().DecodeAsync(Path.Combine(_directory, track + ".wav"))).Length);
            Assert.Equal(50_000, (await new FfmpegDecoder().DecodeAsync(Path.Combine(_directory, track + ".mp3"))).Length);
        }
    }

    [Fact]
    public async Task Should_keep_the_blocks_in_order_when_the_separator_outruns_the_encoder_and_hands_on_huge_blocks()
    {
        // 100 blocks of 2,000 frames fill a stem's queue (16 blocks) many times over, so Write waits for the one encoder;
        // then a 300,000-frame block is split into the queue's 64 k-frame blocks.
        var planes = Planes(500_000);

        await using (var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads: 1))
        {
            Write(sink, planes, [.. Enumerable.Repeat(2_000, 100), 300_000]);
            await sink.CompleteAsync();
            Assert.True(sink.WaitedForEncoders > TimeSpan.Zero, "the wait for the encoders was not measured");
        }

        var decoded = await new FfmpegDecoder().DecodeAsync(Path.Combine(_directory, "other.mp3"));
        Assert.Equal(500_000, decoded.Length);
        var snr = SignalRatio.Decibels([planes[4], planes[5]], [decoded.Channel(0), decoded.Channel(1)]);
        Assert.True(snr > 25, $"SNR {snr:F1} dB: blocks lost or out of order");
    }

    [Fact]
    public async Task Should_give_the_same_outcome_when_completed_twice_and_refuse_writes_after()
    {
        var planes = Planes(10_000);
        await using var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options());
        Write(sink, planes, [65_536]);

        var first = sink.CompleteAsync();
        await first;

        Assert.Same(first, sink.CompleteAsync());
        Assert.Throws<ObjectDisposedException>(() => Write(sink, planes, [65_536]));
        Assert.Equal(Stems.Names.Select(t => t + ".mp3").Order(), Directory.GetFiles(_directory).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task Should_stop_its_encoders_and_leave_no_mp3_when_abandoned_before_completion()
    {
        var planes = Planes(400_000);
        var sink = new StemFileSink(_directory, ["mp3"], new Mp3Options(), encoderThreads: 1);
        Write(sink, planes, [65_536]);
        Assert.NotEmpty(Directory.GetFiles(_directory)); // being written, under names of their own

        var disposing = sink.DisposeAsync().AsTask();

        Assert.Same(disposing, await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(30))));
        // No half-written MP3 is left to be taken for a stem.
        Assert.Empty(Directory.GetFiles(_directory));
        Assert.Throws<ObjectDisposedException>(() => Write(sink, planes, [65_536]));
    }

    [Theory]
    [InlineData("")]
    [InlineData("flac")]
    [InlineData("mp3,flac")]
    public void Should_refuse_formats_it_cannot_write(string formats) =>
        Assert.Throws<ArgumentException>(() => new StemFileSink(_directory, formats.Split(',', StringSplitOptions.RemoveEmptyEntries), new Mp3Options()));

    public void Dispose()
    {
        if (Directory.Exists(_directory)) Directory.Delete(_directory, recursive: true);
    }

    /// <summary>Says its first audio is out once every stem has told it of bytes; remembers the samples given to LAME by then.</summary>
    private sealed class FirstAudioListener : IMp3StemListener
    {
        private readonly TaskCompletionSource _out = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _stems;

        public long[] FirstSamplesIn { get; } = new long[Stems.Count];

        public int[] FirstThreads { get; } = new int[Stems.Count];

        public Task FirstAudioOut => _out.Task;

        public void Encoded(int stem, ReadOnlySpan<byte> mp3, long samplesIn)
        {
            if (FirstSamplesIn[stem] != 0) return;
            FirstSamplesIn[stem] = samplesIn;
            FirstThreads[stem] = Environment.CurrentManagedThreadId;
            if (Interlocked.Increment(ref _stems) == Stems.Count) _out.TrySetResult();
        }
    }

    /// <summary>Writes down, per stem, the samples given to LAME at each telling of bytes and at each segment's end.</summary>
    private sealed class SegmentListener : IMp3StemListener
    {
        public List<string>[] Events { get; } = [.. Enumerable.Range(0, Stems.Count).Select(_ => new List<string>())];

        public void Encoded(int stem, ReadOnlySpan<byte> mp3, long samplesIn) => Events[stem].Add($"bytes {samplesIn}");

        public void SegmentEnded(int stem, long samplesIn) => Events[stem].Add($"end {samplesIn}");
    }

    // Stem s channel c: music at a pitch of its own, so that stems cannot be mistaken for one another.
    private static float[][] Planes(int length)
    {
        var (left, right) = Mp3Writer_Specs.Music(length);
        return Enumerable.Range(0, Stems.Count * Stems.Channels).Select(p =>
        {
            var source = p % 2 == 0 ? left : right;
            var factor = 1 + p / 2;
            return Enumerable.Range(0, length).Select(i => 0.5f * source[i * factor % length]).ToArray();
        }).ToArray();
    }

    // One channel pair encoded in one call after the separation, as the encoding service would.
    private async Task<byte[]> EncodedAtOnce(float[] left, float[] right)
    {
        var after = Path.Combine(_directory, "after.mp3");
        await using (var file = File.Create(after))
        using (var writer = new Mp3Writer(file, new Mp3Options()))
        {
            writer.Write(left, right);
            writer.Complete();
        }
        return await File.ReadAllBytesAsync(after);
    }

    // Hands the planes on in blocks of the given lengths, the last repeated until the end.
    private static void Write(StemFileSink sink, float[][] planes, int[] blocks)
    {
        var at = 0;
        for (var b = 0; at < planes[0].Length; b++)
        {
            var n = Math.Min(blocks[Math.Min(b, blocks.Length - 1)], planes[0].Length - at);
            sink.Write(new StemFrames(planes, at, n));
            at += n;
        }
    }
}
