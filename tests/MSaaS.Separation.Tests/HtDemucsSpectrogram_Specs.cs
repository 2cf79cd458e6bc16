using MSaaS.Separation.Dsp;

namespace MSaaS.Separation.Tests;

public class HtDemucsSpectrogram_Specs
{
    private const int Segment = HtDemucsSpectrogram.SegmentLength;
    private const int Plane = HtDemucsSpectrogram.PlaneLength;

    [Fact]
    public void Should_compute_the_model_input_of_the_fixture_segment()
    {
        var wave = Fixtures.ReadF32("fixtures", "htdemucs", "seg0_wave.f32");
        var expected = Fixtures.ReadF32("fixtures", "htdemucs", "seg0_spec.f32");
        var actual = new float[4 * Plane];
        var spectrogram = new HtDemucsSpectrogram();
        for (var c = 0; c < 2; c++)
            spectrogram.Forward(wave.AsSpan(c * Segment, Segment), actual.AsSpan(2 * c * Plane, Plane), actual.AsSpan((2 * c + 1) * Plane, Plane));

        AssertClose(expected, actual, relative: 1e-5, "spectrogram");
        // The reflect pad shapes the first two and the last frames: check them on their own too.
        foreach (var frame in new[] { 0, 1, HtDemucsSpectrogram.Frames - 1 })
        {
            var e = Enumerable.Range(0, HtDemucsSpectrogram.Bins).Select(k => expected[k * HtDemucsSpectrogram.Frames + frame]).ToArray();
            var a = Enumerable.Range(0, HtDemucsSpectrogram.Bins).Select(k => actual[k * HtDemucsSpectrogram.Frames + frame]).ToArray();
            AssertClose(e, a, relative: 1e-5, $"frame {frame}");
        }
    }

    [Fact]
    public void Should_invert_the_fixture_frequency_branch()
    {
        var cac = Fixtures.ReadF32("fixtures", "htdemucs", "seg0_drums_freq_cac.f32");
        var expected = Fixtures.ReadF32("fixtures", "htdemucs", "seg0_drums_freq_wave.f32");
        var actual = new float[2 * Segment];
        var spectrogram = new HtDemucsSpectrogram();
        for (var c = 0; c < 2; c++)
            spectrogram.Inverse(cac.AsSpan(2 * c * Plane, Plane), cac.AsSpan((2 * c + 1) * Plane, Plane), actual.AsSpan(c * Segment, Segment));

        AssertClose(expected, actual, relative: 1e-5, "inverse");
        // The last 2,476 samples are where a miscounted inverse length shows.
        AssertClose(expected.AsSpan(2 * Segment - 2476), actual.AsSpan(2 * Segment - 2476), relative: 1e-5, "inverse tail");
        AssertClose(expected.AsSpan(0, 4096), actual.AsSpan(0, 4096), relative: 1e-5, "inverse head");
    }

    [Fact]
    public void Should_give_the_segment_back_where_every_overlapping_frame_is_kept()
    {
        // Band-limited: the model's spectrogram drops the Nyquist bin, which white noise would need.
        var wave = Enumerable.Range(0, Segment)
            .Select(i => (float)(0.3 * Math.Sin(i * 0.031) + 0.2 * Math.Sin(i * 0.77 + 1) + 0.1 * Math.Sin(i * 2.1))).ToArray();
        var re = new float[Plane];
        var im = new float[Plane];
        var back = new float[Segment];
        var spectrogram = new HtDemucsSpectrogram();
        spectrogram.Forward(wave, re, im);
        spectrogram.Inverse(re, im, back);

        // Frames 0, 1, 338 and 339 of torch's 340 are dropped by the model, so only samples covered by kept frames
        // alone come back exactly: from 1536 up to the start of frame 338 (338 * 1024 - 3584).
        AssertClose(wave.AsSpan(1536..342528), back.AsSpan(1536..342528), relative: 1e-4, "round trip");
    }

    [Fact]
    public void Should_reflect_without_repeating_the_edge_sample()
    {
        float[] x = [1, 2, 3, 4, 5];
        var padded = new float[11];
        HtDemucsSpectrogram.ReflectPad(x, padded, left: 3);
        Assert.Equal([4, 3, 2, 1, 2, 3, 4, 5, 4, 3, 2], padded);
    }

    [Fact]
    public void Should_refuse_a_pad_longer_than_the_signal() =>
        Assert.Throws<ArgumentException>(() => HtDemucsSpectrogram.ReflectPad([1f, 2f], new float[7], left: 2));

    [Fact]
    public void Should_use_the_pads_demucs_uses() =>
        Assert.Equal((1536, 1620), (HtDemucsSpectrogram.PadLeft, HtDemucsSpectrogram.PadRight));

    internal static void AssertClose(ReadOnlySpan<float> expected, ReadOnlySpan<float> actual, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double peak = 0;
        foreach (var v in expected) peak = Math.Max(peak, Math.Abs(v));
        var tolerance = relative * Math.Max(peak, 1e-6);
        int bad = 0, first = -1, last = -1;
        double worst = 0;
        for (var i = 0; i < expected.Length; i++)
        {
            var error = Math.Abs(expected[i] - actual[i]);
            if (error <= tolerance) continue;
            bad++;
            if (first < 0) first = i;
            last = i;
            worst = Math.Max(worst, error);
        }
        if (bad > 0)
            Assert.Fail($"{what}: {bad} of {expected.Length} elements differ by more than {tolerance:G3} (peak {peak:G3}), " +
                $"from index {first} ({actual[first]} vs {expected[first]}) to {last}; worst error {worst:G3}");
    }
}
