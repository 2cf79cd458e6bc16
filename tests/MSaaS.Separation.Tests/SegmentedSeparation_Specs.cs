using MSaaS.Audio;
using MSaaS.Separation.Demucs;

namespace MSaaS.Separation.Tests;

public class SegmentedSeparation_Specs
{
    private const int Segment = 1000;
    private static readonly float[] Gains = ScalingModel.Gains;

    [Theory]
    [InlineData(1, 0.25)]
    [InlineData(999, 0.25)]
    [InlineData(1000, 0.25)]
    [InlineData(1001, 0.25)]
    [InlineData(5123, 0.25)]
    [InlineData(5123, 0)]
    [InlineData(5123, 0.9)]
    public async Task Should_give_back_every_sample_once_for_any_length(int length, double overlap)
    {
        var mix = Song(length);
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        var sink = new CollectingSink(length);

        await separator.SeparateAsync(mix, sink, new SeparationOptions { Overlap = overlap, Normalize = false });

        Assert.Equal(length, sink.Written);
        // A model that scales its input, overlap-added with normalised weights, must give the scaled input back
        // exactly: any misplaced segment, trim or weight shows here.
        for (var s = 0; s < Stems.Count; s++)
            for (var c = 0; c < 2; c++)
                AssertScaled(mix.Channel(c), sink.Stem(s, c), Gains[s], 0);
    }

    [Fact]
    public async Task Should_centre_the_last_segment_on_real_audio_with_zeros_beyond_the_end()
    {
        var mix = Song(2500);
        var model = new ScalingModel(Segment);
        using var separator = new DemucsSeparator(model);

        await separator.SeparateAsync(mix, new CollectingSink(2500), new SeparationOptions { Normalize = false });

        // Stride 750: segments at 0, 750, 1500, 2250; the last has 250 real samples, so it reads from
        // 2250 - (1000 - 250) / 2 = 1875 and its last 375 samples lie beyond the track.
        Assert.Equal(4, model.Inputs.Count);
        var last = model.Inputs[^1];
        Assert.Equal(mix.Channel(0).AsSpan(1875, 625).ToArray(), last.AsSpan(0, 625).ToArray());
        Assert.All(last.AsSpan(625).ToArray(), v => Assert.Equal(0f, v));
    }

    [Fact]
    public async Task Should_warm_up_on_one_silent_segment_that_leaves_no_trace_in_the_song()
    {
        var mix = Song(2500);
        var model = new ScalingModel(Segment);
        using var separator = new DemucsSeparator(model);
        model.Input(0).Fill(1f); // anything left over must not reach the warm-up

        separator.WarmUp();
        var sink = new CollectingSink(2500);
        await separator.SeparateAsync(mix, sink, new SeparationOptions { Normalize = false });

        Assert.Equal(1, separator.WarmUpRuns);
        Assert.All(model.Inputs[0], v => Assert.Equal(0f, v));
        Assert.Equal(5, model.Inputs.Count); // the warm-up, then the song's four segments
        for (var s = 0; s < Stems.Count; s++)
            for (var c = 0; c < 2; c++)
                AssertScaled(mix.Channel(c), sink.Stem(s, c), Gains[s], 0);
    }

    [Fact]
    public async Task Should_hand_on_samples_while_it_runs_not_at_the_end()
    {
        var mix = Song(20_000);
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        var sink = new CollectingSink(20_000);

        await separator.SeparateAsync(mix, sink, new SeparationOptions { Normalize = false });

        Assert.True(sink.Blocks >= 20_000 / 750, $"only {sink.Blocks} blocks: the stems were held back");
    }

    [Fact]
    public async Task Should_hand_on_what_precedes_the_next_segment_before_the_model_runs_it()
    {
        // A listener hears a song one segment sooner: segment k's samples up to where segment k + 1 starts are final
        // as soon as segment k is added, so they are handed on before the model runs segment k + 1.
        var sink = new CollectingSink(5_000);
        var heardBeforeRun = new List<int>();
        using var separator = new DemucsSeparator(new ScalingModel(Segment) { OnRun = _ => heardBeforeRun.Add(sink.Written) });

        await separator.SeparateAsync(Song(5_000), sink, new SeparationOptions { Overlap = 0.25, Normalize = false });

        // Stride 750: before run n, (n - 1) strides are out.
        Assert.Equal(Enumerable.Range(0, heardBeforeRun.Count).Select(n => n * 750), heardBeforeRun);
        Assert.Equal(5_000, sink.Written);
    }

    [Fact]
    public async Task Should_mark_where_each_segments_samples_end_so_that_a_listener_gets_them_before_the_next_run()
    {
        var sink = new CollectingSink(5_000);
        var markedBeforeRun = new List<int>();
        using var separator = new DemucsSeparator(new ScalingModel(Segment) { OnRun = _ => markedBeforeRun.Add(sink.SegmentEnds.LastOrDefault()) });

        await separator.SeparateAsync(Song(5_000), sink, new SeparationOptions { Overlap = 0.25, Normalize = false });

        // Stride 750: a mark after every stride's samples, each before the model's next run, and one at the song's end.
        Assert.Equal([.. Enumerable.Range(1, 6).Select(n => n * 750), 5_000], sink.SegmentEnds);
        Assert.Equal(Enumerable.Range(0, markedBeforeRun.Count).Select(n => n * 750), markedBeforeRun);
    }

    [Fact]
    public async Task Should_undo_the_normalisation()
    {
        var mix = Song(3000, offset: 0.25f);
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        var sink = new CollectingSink(3000);

        await separator.SeparateAsync(mix, sink, new SeparationOptions { Normalize = true });

        // demucs: stems = model((x - mean) / std) * std + mean, so a scaling model gives gain * (x - mean) + mean.
        var mean = (float)Enumerable.Range(0, 3000).Average(i => 0.5 * (mix.Channel(0)[i] + mix.Channel(1)[i]));
        AssertScaled(mix.Channel(0), sink.Stem(1, 0), Gains[1], mean);
    }

    [Fact]
    public async Task Should_average_shifted_passes_back_onto_the_track()
    {
        var mix = Song(30_000);
        var model = new ScalingModel(Segment);
        using var separator = new DemucsSeparator(model);
        var sink = new CollectingSink(30_000);
        var reports = new List<SeparationProgress>();

        await separator.SeparateAsync(mix, sink, new SeparationOptions { Shifts = 3, Normalize = false, Seed = 5 },
            new SynchronousProgress<SeparationProgress>(reports.Add));

        AssertScaled(mix.Channel(1), sink.Stem(3, 1), Gains[3], 0);
        Assert.Equal([30_000], sink.SegmentEnds); // the stems come out after the last pass, and end there
        Assert.Equal(model.Inputs.Count, reports[^1].SegmentsDone);
        Assert.Equal(reports[^1].SegmentsTotal, reports[^1].SegmentsDone);
        Assert.True(model.Inputs.Count > 3 * 40, "three passes over a song 0 to 0.5 s longer than the track");
    }

    [Fact]
    public async Task Should_read_the_track_a_segment_at_a_time_as_it_would_from_disk()
    {
        var mix = Song(200_077, offset: 0.1f);
        var source = new WindowedSource(mix);
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        var options = new SeparationOptions { Shifts = 2, Normalize = true, Seed = 3 };
        var (fromMemory, fromSource) = (new CollectingSink(mix.Length), new CollectingSink(mix.Length));

        await separator.SeparateAsync(mix, fromMemory, options);
        await separator.SeparateAsync(source, fromSource, options);

        // The normalisation's statistics and the segments read blocks (64 Ki samples at most), never the whole track.
        Assert.InRange(source.LargestRead, 1, 1 << 16);
        for (var p = 0; p < fromMemory.Planes.Length; p++)
            Assert.True(fromMemory.Planes[p].AsSpan().SequenceEqual(fromSource.Planes[p]), $"plane {p} differs");
    }

    [Fact]
    public async Task Should_stop_when_cancelled()
    {
        var mix = Song(50_000);
        using var cancel = new CancellationTokenSource();
        var model = new ScalingModel(Segment) { OnRun = n => { if (n == 3) cancel.Cancel(); } };
        using var separator = new DemucsSeparator(model);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() =>
            separator.SeparateAsync(mix, new CollectingSink(50_000), new SeparationOptions(), null, cancel.Token));
        Assert.True(model.Inputs.Count <= 4);
    }

    [Theory]
    [InlineData(0, 0.25)]
    [InlineData(21, 0.25)]
    [InlineData(1, 1.0)]
    [InlineData(1, -0.1)]
    public async Task Should_refuse_options_out_of_range(int shifts, double overlap)
    {
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() =>
            separator.SeparateAsync(Song(10), new CollectingSink(10), new SeparationOptions { Shifts = shifts, Overlap = overlap }));
    }

    [Fact]
    public async Task Should_refuse_audio_at_another_rate()
    {
        using var separator = new DemucsSeparator(new ScalingModel(Segment));
        var mix = new AudioBuffer([new float[10], new float[10]], 48_000);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => separator.SeparateAsync(mix, new CollectingSink(10), new SeparationOptions()));
        Assert.Contains("44100 Hz", error.Message);
    }

    private static AudioBuffer Song(int length, float offset = 0)
    {
        var random = new Random(length);
        float[] Channel() => Enumerable.Range(0, length).Select(_ => offset + (float)(random.NextDouble() - 0.5)).ToArray();
        return new AudioBuffer([Channel(), Channel()], Stems.SampleRate);
    }

    private static void AssertScaled(float[] input, float[] output, float gain, float mean)
    {
        for (var i = 0; i < input.Length; i++)
        {
            var expected = gain * (input[i] - mean) + mean;
            if (Math.Abs(output[i] - expected) > 1e-5f)
                Assert.Fail($"sample {i} is {output[i]}, expected {expected}");
        }
    }

    /// <summary>Audio read only through <see cref="IAudioSource.Read"/>, as from disk; remembers the most read at once.</summary>
    private sealed class WindowedSource(AudioBuffer audio) : IAudioSource
    {
        public int LargestRead { get; private set; }

        public int SampleRate => audio.SampleRate;

        public int ChannelCount => audio.ChannelCount;

        public long Length => audio.Length;

        public void Read(int channel, long start, Span<float> target)
        {
            LargestRead = Math.Max(LargestRead, target.Length);
            audio.Read(channel, start, target);
        }
    }

    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
