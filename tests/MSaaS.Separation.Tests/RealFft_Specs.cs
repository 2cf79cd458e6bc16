using MSaaS.Separation.Dsp;

namespace MSaaS.Separation.Tests;

public class RealFft_Specs
{
    [Theory]
    [InlineData(8)]
    [InlineData(64)]
    [InlineData(4096)]
    public void Should_match_a_direct_DFT(int n)
    {
        var x = RandomSignal(n, seed: n);
        var re = new float[n / 2 + 1];
        var im = new float[n / 2 + 1];
        new RealFft(n).Forward(x, re, im);

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
    [InlineData(16)]
    [InlineData(4096)]
    public void Should_invert_to_n_times_the_signal(int n)
    {
        var x = RandomSignal(n, seed: 7);
        var re = new float[n / 2 + 1];
        var im = new float[n / 2 + 1];
        var y = new float[n];
        var fft = new RealFft(n);
        fft.Forward(x, re, im);
        fft.Inverse(re, im, y);
        for (var t = 0; t < n; t++) Assert.True(Math.Abs(y[t] / n - x[t]) < 1e-5, $"x[{t}] {x[t]} came back as {y[t] / n}");
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
