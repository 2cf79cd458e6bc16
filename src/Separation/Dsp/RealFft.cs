using System.Numerics;

namespace MSaaS.Separation.Dsp;

/// <summary>
/// Unnormalised FFT of real signals of a power-of-two length N, computed as one complex FFT of N/2 points
/// (even samples as the real part, odd as the imaginary) plus an O(N) split. Split re/im arrays and per-stage
/// twiddle tables keep the butterflies in SIMD registers. An instance owns scratch space: use one per thread.
/// </summary>
public sealed class RealFft
{
    private readonly int _n;
    private readonly int _m;
    private readonly int[] _bitReverse;
    // Twiddles for the half-size complex FFT: for a stage of butterfly half-width h, entries h..2h-1 hold
    // exp(-2 pi i j / 2h), j = 0..h-1.
    private readonly float[] _twRe;
    private readonly float[] _twIm;
    private readonly float[] _twImConj;
    // exp(-2 pi i k / N), k = 0..N/2, for the split between the half-size FFT and the real spectrum.
    private readonly float[] _splitCos;
    private readonly float[] _splitSin;
    private readonly float[] _zRe;
    private readonly float[] _zIm;

    public RealFft(int n)
    {
        if (n < 4 || !BitOperations.IsPow2(n)) throw new ArgumentException("FFT length must be a power of two >= 4", nameof(n));
        _n = n;
        _m = n / 2;
        _zRe = new float[_m];
        _zIm = new float[_m];
        _bitReverse = new int[_m];
        var bits = BitOperations.Log2((uint)_m);
        for (var i = 0; i < _m; i++) _bitReverse[i] = (int)(ReverseBits((uint)i) >> (32 - bits));

        _twRe = new float[_m];
        _twIm = new float[_m];
        _twImConj = new float[_m];
        for (var h = 1; h < _m; h *= 2)
        {
            for (var j = 0; j < h; j++)
            {
                var angle = -Math.PI * j / h;
                _twRe[h + j] = (float)Math.Cos(angle);
                _twIm[h + j] = (float)Math.Sin(angle);
                _twImConj[h + j] = -_twIm[h + j];
            }
        }
        _splitCos = new float[_m + 1];
        _splitSin = new float[_m + 1];
        for (var k = 0; k <= _m; k++)
        {
            var angle = 2 * Math.PI * k / n;
            _splitCos[k] = (float)Math.Cos(angle);
            _splitSin[k] = (float)Math.Sin(angle);
        }
    }

    public int Length => _n;

    /// <summary>X[k] = sum x[t] e^(-2 pi i k t / N) for k = 0..N/2 (no scaling).</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> re, Span<float> im)
    {
        if (input.Length != _n || re.Length < _m + 1 || im.Length < _m + 1) throw new ArgumentException("buffer sizes do not match the FFT length");
        for (var i = 0; i < _m; i++)
        {
            var r = _bitReverse[i];
            _zRe[r] = input[2 * i];
            _zIm[r] = input[2 * i + 1];
        }
        Butterflies(_twIm);

        for (var k = 0; k <= _m; k++)
        {
            var a = _zRe[k % _m];
            var b = _zIm[k % _m];
            var c = _zRe[(_m - k) % _m];
            var d = _zIm[(_m - k) % _m];
            // E = (Z[k] + conj Z[M-k]) / 2, O = (Z[k] - conj Z[M-k]) / 2i, X = E + e^(-i theta) O
            var eRe = 0.5f * (a + c);
            var eIm = 0.5f * (b - d);
            var oRe = 0.5f * (b + d);
            var oIm = -0.5f * (a - c);
            var cos = _splitCos[k];
            var sin = _splitSin[k];
            re[k] = eRe + cos * oRe + sin * oIm;
            im[k] = eIm + cos * oIm - sin * oRe;
        }
    }

    /// <summary>
    /// x[t] = sum over the full Hermitian spectrum of X[k] e^(+2 pi i k t / N), i.e. N times the inverse (no scaling).
    /// The imaginary parts of the DC and Nyquist bins are ignored, as numpy's irfft and torch.istft ignore them.
    /// </summary>
    public void Inverse(ReadOnlySpan<float> re, ReadOnlySpan<float> im, Span<float> output)
    {
        if (output.Length != _n || re.Length < _m + 1 || im.Length < _m + 1) throw new ArgumentException("buffer sizes do not match the FFT length");
        for (var k = 0; k < _m; k++)
        {
            var a = re[k];
            var b = k == 0 ? 0f : im[k];
            var c = re[_m - k];
            var d = k == 0 ? 0f : im[_m - k];
            // Z[k] = (X[k] + conj X[M-k]) + i e^(+i theta) (X[k] - conj X[M-k])
            var cos = _splitCos[k];
            var sin = _splitSin[k];
            var p = (a - c) * cos - (b + d) * sin;
            var q = (a - c) * sin + (b + d) * cos;
            var r = _bitReverse[k];
            _zRe[r] = a + c - q;
            _zIm[r] = b - d + p;
        }
        Butterflies(_twImConj);
        for (var i = 0; i < _m; i++)
        {
            output[2 * i] = _zRe[i];
            output[2 * i + 1] = _zIm[i];
        }
    }

    private void Butterflies(float[] twIm)
    {
        var zr = _zRe.AsSpan();
        var zi = _zIm.AsSpan();
        var width = Vector<float>.Count;
        for (var h = 1; h < _m; h *= 2)
        {
            if (h < width)
            {
                for (var g = 0; g < _m; g += 2 * h)
                {
                    for (var j = 0; j < h; j++)
                    {
                        var wr = _twRe[h + j];
                        var wi = twIm[h + j];
                        var top = g + j;
                        var bottom = top + h;
                        var tr = zr[bottom] * wr - zi[bottom] * wi;
                        var ti = zr[bottom] * wi + zi[bottom] * wr;
                        zr[bottom] = zr[top] - tr;
                        zi[bottom] = zi[top] - ti;
                        zr[top] += tr;
                        zi[top] += ti;
                    }
                }
                continue;
            }
            var wRe = _twRe.AsSpan(h, h);
            var wIm = twIm.AsSpan(h, h);
            for (var g = 0; g < _m; g += 2 * h)
            {
                var topR = zr.Slice(g, h);
                var topI = zi.Slice(g, h);
                var botR = zr.Slice(g + h, h);
                var botI = zi.Slice(g + h, h);
                for (var j = 0; j < h; j += width)
                {
                    var wr = new Vector<float>(wRe[j..]);
                    var wi = new Vector<float>(wIm[j..]);
                    var br = new Vector<float>(botR[j..]);
                    var bi = new Vector<float>(botI[j..]);
                    var ar = new Vector<float>(topR[j..]);
                    var ai = new Vector<float>(topI[j..]);
                    var tr = br * wr - bi * wi;
                    var ti = br * wi + bi * wr;
                    (ar + tr).CopyTo(topR[j..]);
                    (ai + ti).CopyTo(topI[j..]);
                    (ar - tr).CopyTo(botR[j..]);
                    (ai - ti).CopyTo(botI[j..]);
                }
            }
        }
    }

    private static uint ReverseBits(uint v)
    {
        v = ((v >> 1) & 0x55555555u) | ((v & 0x55555555u) << 1);
        v = ((v >> 2) & 0x33333333u) | ((v & 0x33333333u) << 2);
        v = ((v >> 4) & 0x0F0F0F0Fu) | ((v & 0x0F0F0F0Fu) << 4);
        v = ((v >> 8) & 0x00FF00FFu) | ((v & 0x00FF00FFu) << 8);
        return (v >> 16) | (v << 16);
    }
}
