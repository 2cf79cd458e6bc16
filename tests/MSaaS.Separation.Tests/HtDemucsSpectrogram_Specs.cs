using MSaaS.Separation.Dsp;

namespace MSaaS.Separation.Tests;

public class HtDemucsSpectrogram_Specs
{
    private const int Segment = HtDemucsSpectrogram.SegmentLength;
    private const int Plane = HtDemucsSpectrogram.PlaneLength;

    // The frames where the pads shape the result (the first two and the last two), and two in the middle.
    public static TheoryData<int> CheckedFrames => [0, 1, 2, 167, 334, 335];

    [Theory]
    [MemberData(nameof(CheckedFrames))]
    public void Should_compute_the_model_input_as_a_direct_dft_does(int frame)
    {
        var wave = Signal(Segment, seed: 3);
        var re = new float[Plane];
        var im = new float[Plane];

        new HtDemucsSpectrogram().Forward(wave, re, im);

        var (expectedRe, expectedIm) = StftReference.Frame(wave, frame);
        var actualRe = Enumerable.Range(0, HtDemucsSpectrogram.Bins).Select(k => (double)re[k * HtDemucsSpectrogram.Frames + frame]).ToArray();
        var actualIm = Enumerable.Range(0, HtDemucsSpectrogram.Bins).Select(k => (double)im[k * HtDemucsSpectrogram.Frames + frame]).ToArray();
        var peak = expectedRe.Concat(expectedIm).Max(Math.Abs);
        AssertClose(expectedRe, actualRe, peak, 1e-5, $"frame {frame}, real parts");
        AssertClose(expectedIm, actualIm, peak, 1e-5, $"frame {frame}, imaginary parts");
    }

    // The head, the last 2,476 samples (where a miscounted inverse length shows) and a stretch in the middle.
    public static TheoryData<int, int> CheckedRanges => new() { { 0, 4096 }, { Segment - 2476, 2476 }, { 170_000, 3000 } };

    [Theory]
    [MemberData(nameof(CheckedRanges))]
    public void Should_invert_any_model_output_as_a_direct_inverse_dft_does(int start, int count)
    {
        var random = new Random(5);
        var re = Enumerable.Range(0, Plane).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var im = Enumerable.Range(0, Plane).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var actual = new float[Segment];

        new HtDemucsSpectrogram().Inverse(re, im, actual);

        var expected = StftReference.Inverse(re, im, start, count);
        AssertClose(expected, actual.AsSpan(start, count).ToArray().Select(v => (double)v).ToArray(), expected.Max(Math.Abs), 1e-5,
            $"samples {start}..{start + count}");
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

    // Noise and a few tones, not periodic in the segment.
    private static float[] Signal(int length, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, length)
            .Select(i => (float)(0.2 * (random.NextDouble() * 2 - 1) + 0.3 * Math.Sin(i * 0.0123) + 0.1 * Math.Sin(i * 1.7 + 0.4))).ToArray();
    }

    private static void AssertClose(double[] expected, double[] actual, double peak, double relative, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        var tolerance = relative * peak;
        var worst = Enumerable.Range(0, expected.Length).MaxBy(i => Math.Abs(expected[i] - actual[i]));
        Assert.True(Math.Abs(expected[worst] - actual[worst]) <= tolerance,
            $"{what}: element {worst} is {actual[worst]}, the reference says {expected[worst]} (tolerance {tolerance:G3}, peak {peak:G3})");
    }

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
