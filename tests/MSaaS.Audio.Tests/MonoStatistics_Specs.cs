namespace MSaaS.Audio.Tests;

/// <summary>demucs' whole-track statistics, gathered a block at a time.</summary>
public class MonoStatistics_Specs
{
    [Theory]
    [InlineData(1, 0.0)]
    [InlineData(1000, 0.0)]
    [InlineData(65_536, 0.0)]
    [InlineData(300_001, 0.0)]
    [InlineData(300_001, 0.9)] // an offset far larger than the signal around it
    public void Should_give_what_two_passes_over_the_whole_track_give_whatever_the_blocks(int length, double offset)
    {
        var random = new Random(length);
        var left = new float[length];
        var right = new float[length];
        for (var i = 0; i < length; i++)
        {
            left[i] = (float)(offset + 0.05 * Math.Sin(i * 0.013) + 0.01 * (random.NextDouble() - 0.5));
            right[i] = (float)(offset + 0.04 * Math.Sin(i * 0.021 + 1) + 0.01 * (random.NextDouble() - 0.5));
        }
        var (mean, std) = TwoPasses(left, right);

        var whole = MonoStatistics.Of(new AudioBuffer([left, right], 44_100));
        var ragged = new MonoStatistics.Accumulator();
        for (var at = 0; at < length;)
        {
            var n = Math.Min(length - at, 1 + random.Next(9000)); // blocks of any size, as ffmpeg's pipe hands them on
            ragged.Add(left.AsSpan(at, n), right.AsSpan(at, n));
            at += n;
        }

        foreach (var result in new[] { whole, ragged.Result })
        {
            Assert.Equal(mean, result.Mean, 1e-12);
            Assert.Equal(std, result.StandardDeviation, Math.Max(std, 1e-3) * 1e-9);
        }
    }

    [Fact]
    public void Should_read_a_mono_track_as_its_one_channel()
    {
        var tone = TestFiles.Sine(10_000, 0.01);

        var mono = MonoStatistics.Of(new AudioBuffer([tone], 44_100));

        var (mean, std) = TwoPasses(tone, tone);
        Assert.Equal(mean, mono.Mean, 1e-12);
        Assert.Equal(std, mono.StandardDeviation, 1e-9);
    }

    // The definition, as demucs computes it: the mono mix's mean, then the unbiased deviation from it.
    private static (double Mean, double Std) TwoPasses(float[] left, float[] right)
    {
        var mix = left.Zip(right, (l, r) => 0.5 * ((double)l + r)).ToArray();
        var mean = mix.Average();
        var std = mix.Length > 1 ? Math.Sqrt(mix.Sum(m => (m - mean) * (m - mean)) / (mix.Length - 1)) : 0;
        return (mean, std);
    }
}
