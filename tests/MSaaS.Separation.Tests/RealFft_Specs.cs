using MSaaS.Separation.Dsp;

namespace MSaaS.Separation.Tests;

public class RealFft_Specs
{
    // The AVX2 code covers N >= 32; the scalar code every length, and machines without AVX2.
    [Theory]
    [InlineData(4, true)]
    [InlineData(8, true)]
    [InlineData(32, true)]
    [InlineData(64, true)]
    [InlineData(128, true)]
    [InlineData(4096, true)]
    [InlineData(8, false)]
    [InlineData(64, false)]
    [InlineData(4096, false)]
    public void Should_match_a_direct_DFT(int n, bool vectorised)
    {
        var x = RandomSignal(n, seed: n);
        var re = new float[n / 2 + 1];
        var im = new float[n / 2 + 1];
        new RealFft(n, vectorised).Forward(x, re, im);

        var scale = Math.Sqrt(n);
        for (var k = 0; k <= n / 2; k++)
        {
            double sr = 0, si = 0;
            for (var t = 0; t < n; t++)
            {
                var angle = -2 * Math.PI * k * t / n;
                sr += x[t] * Math.Cos(angle);
                si += x[t] * Math.Sin(angle);
            }
            Assert.True(Math.Abs(re[k] - sr) < 1e-5 * scale * 4, $"re[{k}] {re[k]} vs {sr}");
            Assert.True(Math.Abs(im[k] - si) < 1e-5 * scale * 4, $"im[{k}] {im[k]} vs {si}");
        }
    }

    [Theory]
    [InlineData(4, true)]
    [InlineData(16, true)]
    [InlineData(32, true)]
    [InlineData(256, true)]
    [InlineData(4096, true)]
    [InlineData(16, false)]
    [InlineData(4096, false)]
    public void Should_invert_to_n_times_the_signal(int n, bool vectorised)
    {
        var x = RandomSignal(n, seed: 7);
        var re = new float[n / 2 + 1];
        var im = new float[n / 2 + 1];
        var y = new float[n];
        var fft = new RealFft(n, vectorised);
        fft.Forward(x, re, im);
        fft.Inverse(re, im, y);
        for (var t = 0; t < n; t++) Assert.True(Math.Abs(y[t] / n - x[t]) < 1e-5, $"x[{t}] {x[t]} came back as {y[t] / n}");
    }

    [Fact]
    public void Should_ignore_the_imaginary_parts_of_DC_and_Nyquist_when_inverting()
    {
        const int n = 64;
        var re = RandomSignal(n / 2 + 1, seed: 3);
        var im = RandomSignal(n / 2 + 1, seed: 4);
        var fft = new RealFft(n);
        var expected = new float[n];
        var actual = new float[n];
        fft.Inverse(re, im, actual);
        im[0] = 0;
        im[n / 2] = 0;
        fft.Inverse(re, im, expected);
        Assert.Equal(expected, actual);
    }

    [Fact]
    public void Should_refuse_lengths_that_are_not_powers_of_two() =>
        Assert.Throws<ArgumentException>(() => new RealFft(4095));

    private static float[] RandomSignal(int n, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
    }
}
