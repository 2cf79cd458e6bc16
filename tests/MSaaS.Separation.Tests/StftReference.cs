namespace MSaaS.Separation.Tests;

/// <summary>
/// The model's spectrogram and its inverse written the slow, plain way, in double precision, for the DSP specs to
/// compare against: numpy-style reflect pads, torch.stft / torch.istft semantics (n_fft 4096, hop 1024, periodic
/// Hann window, normalized, centred) and a direct DFT, only for the frames a check needs.
/// </summary>
internal static class StftReference
{
    private const int N = 4096;
    private const int Hop = 1024;
    private const int Segment = 343_980;
    private const int Frames = 336;      // ceil(Segment / Hop)
    private const int Pad = Hop / 2 * 3; // 1536, demucs' own pad on the left
    private const int TorchFrames = Frames + 4;

    private static readonly double[] Window = Enumerable.Range(0, N).Select(n => 0.5 * (1 - Math.Cos(2 * Math.PI * n / N))).ToArray();
    private static readonly double[] Cos = Enumerable.Range(0, N).Select(n => Math.Cos(2 * Math.PI * n / N)).ToArray();
    private static readonly double[] Sin = Enumerable.Range(0, N).Select(n => Math.Sin(2 * Math.PI * n / N)).ToArray();

    /// <summary>Bins 0..2047 of model frame <paramref name="frame"/> of one channel of a segment.</summary>
    public static (double[] Re, double[] Im) Frame(float[] segment, int frame)
    {
        // demucs pads to whole hops (reflect), then torch centres (reflect again); the model drops torch's first two frames.
        var padded = Reflect(Reflect(segment.Select(v => (double)v).ToArray(), Pad, Pad + Frames * Hop - Segment), N / 2, N / 2);
        var start = (frame + 2) * Hop;
        var re = new double[N / 2];
        var im = new double[N / 2];
        for (var k = 0; k < N / 2; k++)
        {
            double sumRe = 0, sumIm = 0;
            for (int n = 0, phase = 0; n < N; n++, phase = (phase + k) & (N - 1)) // phase = k n mod N
            {
                var x = padded[start + n] * Window[n];
                sumRe += x * Cos[phase];
                sumIm -= x * Sin[phase];
            }
            re[k] = sumRe / Math.Sqrt(N);
            im[k] = sumIm / Math.Sqrt(N);
        }
        return (re, im);
    }

    /// <summary>Samples [start, start + count) of the inverse of a model output plane pair (bin-major, 2048 x 336).</summary>
    public static double[] Inverse(float[] re, float[] im, int start, int count)
    {
        // torch.istft over 340 frames (two zero frames each side, a zero Nyquist bin), centre dropped (N / 2), then
        // demucs' crop of its left pad: output sample t is overlap-added position t + Pad + N / 2.
        var first = start + Pad + N / 2;
        var sum = new double[count];
        var weight = new double[count];
        for (var f = 0; f < TorchFrames; f++)
        {
            var frameStart = f * Hop;
            if (frameStart + N <= first || frameStart >= first + count) continue;
            var samples = f is < 2 or >= Frames + 2 ? new double[N] : InverseFrame(re, im, f - 2);
            for (var n = 0; n < N; n++)
            {
                var t = frameStart + n - first;
                if (t < 0 || t >= count) continue;
                sum[t] += samples[n] * Window[n];
                weight[t] += Window[n] * Window[n];
            }
        }
        return sum.Select((v, i) => weight[i] > 1e-11 ? v / weight[i] : v).ToArray();
    }

    // irfft of one frame's 2049 bins (the last zero) scaled by sqrt(N); the imaginary part of bin 0 is ignored, as irfft does.
    private static double[] InverseFrame(float[] re, float[] im, int frame)
    {
        var result = new double[N];
        for (var n = 0; n < N; n++)
        {
            var v = (double)re[frame];
            for (int k = 1, phase = n; k < N / 2; k++, phase = (phase + n) & (N - 1)) // phase = k n mod N
                v += 2 * (re[k * Frames + frame] * Cos[phase] - im[k * Frames + frame] * Sin[phase]);
            result[n] = v / N * Math.Sqrt(N);
        }
        return result;
    }

    // numpy.pad(mode="reflect"): mirrored around the edge sample, which is not repeated.
    private static double[] Reflect(double[] x, int left, int right)
    {
        var result = new double[x.Length + left + right];
        for (var i = 0; i < result.Length; i++)
        {
            var j = i - left;
            if (j < 0) j = -j;
            if (j >= x.Length) j = 2 * (x.Length - 1) - j;
            result[i] = x[j];
        }
        return result;
    }
}
