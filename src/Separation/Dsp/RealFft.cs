using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace MSaaS.Separation.Dsp;

/// <summary>
/// Unnormalised FFT of real signals of a power-of-two length N, computed as one complex FFT of M = N/2 points
/// (even samples as the real part, odd as the imaginary) plus an O(N) split.
/// <para>
/// The complex FFT is a radix-2 Stockham (self-sorting) transform over split re/im arrays: every stage reads
/// x[j] and x[j + M/2] for consecutive j and writes its two results s apart (s = 1, 2, 4, ... as the
/// sub-transforms shrink), ping-ponging between two buffers. There is no bit-reversal pass, every load is
/// contiguous, and with AVX2 every stage runs eight butterflies at a time: stages with s &lt; 8 interleave their
/// results with in-register shuffles. The inverse is the forward transform with re and im swapped.
/// </para>
/// An instance owns scratch space: use one per thread.
/// </summary>
public sealed class RealFft
{
    private const int Width = 8; // floats in a Vector256

    private readonly int _n;
    private readonly int _m;
    private readonly bool _vectorised;
    // exp(-2 pi i k / M) for k = 0..M/2 - 1: the twiddles of the complex FFT.
    private readonly float[] _wRe;
    private readonly float[] _wIm;
    // The same twiddles as each of the first stages (s = 2, 4) uses them, one per butterfly: exponent j - j % s.
    private readonly float[][] _stageRe;
    private readonly float[][] _stageIm;
    // exp(-2 pi i k / N), k = 0..M, for the split between the half-size FFT and the real spectrum.
    private readonly float[] _splitCos;
    private readonly float[] _splitSin;
    private readonly float[] _aRe;
    private readonly float[] _aIm;
    private readonly float[] _bRe;
    private readonly float[] _bIm;

    public RealFft(int n) : this(n, Avx2.IsSupported) { }

    /// <param name="vectorised">false forces the scalar code (tests compare the two).</param>
    internal RealFft(int n, bool vectorised)
    {
        if (n < 4 || !BitOperations.IsPow2(n)) throw new ArgumentException("FFT length must be a power of two >= 4", nameof(n));
        _n = n;
        _m = n / 2;
        _vectorised = vectorised && Avx2.IsSupported && _m >= 2 * Width;
        var half = _m / 2;
        _wRe = new float[Math.Max(1, half)];
        _wIm = new float[Math.Max(1, half)];
        for (var k = 0; k < half; k++)
        {
            var angle = -2 * Math.PI * k / _m;
            _wRe[k] = (float)Math.Cos(angle);
            _wIm[k] = (float)Math.Sin(angle);
        }
        _stageRe = new float[Width][];
        _stageIm = new float[Width][];
        for (var s = 2; s < Width && _vectorised; s *= 2)
        {
            _stageRe[s] = new float[half];
            _stageIm[s] = new float[half];
            for (var j = 0; j < half; j++)
            {
                _stageRe[s][j] = _wRe[j - j % s];
                _stageIm[s][j] = _wIm[j - j % s];
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
        _aRe = new float[_m];
        _aIm = new float[_m];
        _bRe = new float[_m];
        _bIm = new float[_m];
    }

    public int Length => _n;

    /// <summary>X[k] = sum x[t] e^(-2 pi i k t / N) for k = 0..N/2 (no scaling).</summary>
    public void Forward(ReadOnlySpan<float> input, Span<float> re, Span<float> im)
    {
        if (input.Length != _n || re.Length < _m + 1 || im.Length < _m + 1) throw new ArgumentException("buffer sizes do not match the FFT length");
        Deinterleave(input, _aRe, _aIm);
        var (zRe, zIm) = Transform(_aRe, _aIm, _bRe, _bIm);
        SplitForward(zRe, zIm, re, im);
    }

    /// <summary>
    /// x[t] = sum over the full Hermitian spectrum of X[k] e^(+2 pi i k t / N), i.e. N times the inverse (no scaling).
    /// The imaginary parts of the DC and Nyquist bins are ignored, as numpy's irfft and torch.istft ignore them.
    /// </summary>
    public void Inverse(ReadOnlySpan<float> re, ReadOnlySpan<float> im, Span<float> output)
    {
        if (output.Length != _n || re.Length < _m + 1 || im.Length < _m + 1) throw new ArgumentException("buffer sizes do not match the FFT length");
        SplitInverse(re, im, _aRe, _aIm);
        // conj(FFT(conj z)) is the inverse transform; swapping re and im conjugates and multiplies by i.
        var (zIm, zRe) = Transform(_aIm, _aRe, _bIm, _bRe);
        Interleave(zRe, zIm, output);
    }

    // The complex FFT of (re, im), using (workRe, workIm) as the other buffer; returns the buffer with the result.
    private (float[] Re, float[] Im) Transform(float[] re, float[] im, float[] workRe, float[] workIm)
    {
        var (srcRe, srcIm, dstRe, dstIm) = (re, im, workRe, workIm);
        for (var s = 1; s < _m; s *= 2)
        {
            if (!_vectorised) ScalarStage(srcRe, srcIm, dstRe, dstIm, s);
            else if (s >= Width) WideStage(srcRe, srcIm, dstRe, dstIm, s);
            else NarrowStage(srcRe, srcIm, dstRe, dstIm, s);
            (srcRe, srcIm, dstRe, dstIm) = (dstRe, dstIm, srcRe, srcIm);
        }
        return (srcRe, srcIm);
    }

    // One Stockham stage: for j = q + s p, a = x[j], b = x[j + M/2], w = exp(-2 pi i p s / M);
    // y[q + 2 s p] = a + b, y[q + 2 s p + s] = (a - b) w.
    private void ScalarStage(float[] xRe, float[] xIm, float[] yRe, float[] yIm, int s)
    {
        var half = _m / 2;
        for (var j = 0; j < half; j++)
        {
            var q = j % s;
            var ps = j - q; // s * p with p = j / s: the twiddle's exponent
            float ar = xRe[j], ai = xIm[j], br = xRe[j + half], bi = xIm[j + half];
            float dr = ar - br, di = ai - bi;
            float wr = _wRe[ps], wi = _wIm[ps];
            var top = 2 * ps + q;
            yRe[top] = ar + br;
            yIm[top] = ai + bi;
            yRe[top + s] = dr * wr - di * wi;
            yIm[top + s] = dr * wi + di * wr;
        }
    }

    // s >= 8: the q run of each p is whole vectors and shares one twiddle.
    private void WideStage(float[] xRe, float[] xIm, float[] yRe, float[] yIm, int s)
    {
        var half = (nuint)(_m / 2);
        ref var xr = ref MemoryMarshal.GetArrayDataReference(xRe);
        ref var xi = ref MemoryMarshal.GetArrayDataReference(xIm);
        ref var yr = ref MemoryMarshal.GetArrayDataReference(yRe);
        ref var yi = ref MemoryMarshal.GetArrayDataReference(yIm);
        var stride = (nuint)s;
        for (nuint p = 0, j0 = 0; j0 < half; p++, j0 += stride)
        {
            var wr = Vector256.Create(_wRe[(int)j0]);
            var wi = Vector256.Create(_wIm[(int)j0]);
            var top = 2 * j0;
            for (nuint q = 0; q < stride; q += Width)
            {
                var j = j0 + q;
                var ar = Vector256.LoadUnsafe(ref xr, j);
                var ai = Vector256.LoadUnsafe(ref xi, j);
                var br = Vector256.LoadUnsafe(ref xr, j + half);
                var bi = Vector256.LoadUnsafe(ref xi, j + half);
                var dr = ar - br;
                var di = ai - bi;
                (ar + br).StoreUnsafe(ref yr, top + q);
                (ai + bi).StoreUnsafe(ref yi, top + q);
                (dr * wr - di * wi).StoreUnsafe(ref yr, top + q + stride);
                (dr * wi + di * wr).StoreUnsafe(ref yi, top + q + stride);
            }
        }
    }

    // s = 1, 2, 4: eight consecutive j span several p, so the twiddles come from a per-stage table and the sums
    // and differences are interleaved in runs of s before they are stored.
    private void NarrowStage(float[] xRe, float[] xIm, float[] yRe, float[] yIm, int s)
    {
        var half = (nuint)(_m / 2);
        ref var xr = ref MemoryMarshal.GetArrayDataReference(xRe);
        ref var xi = ref MemoryMarshal.GetArrayDataReference(xIm);
        ref var yr = ref MemoryMarshal.GetArrayDataReference(yRe);
        ref var yi = ref MemoryMarshal.GetArrayDataReference(yIm);
        ref var twr = ref MemoryMarshal.GetArrayDataReference(s == 1 ? _wRe : _stageRe[s]);
        ref var twi = ref MemoryMarshal.GetArrayDataReference(s == 1 ? _wIm : _stageIm[s]);
        for (nuint j = 0; j < half; j += Width)
        {
            var ar = Vector256.LoadUnsafe(ref xr, j);
            var ai = Vector256.LoadUnsafe(ref xi, j);
            var br = Vector256.LoadUnsafe(ref xr, j + half);
            var bi = Vector256.LoadUnsafe(ref xi, j + half);
            var wr = Vector256.LoadUnsafe(ref twr, j);
            var wi = Vector256.LoadUnsafe(ref twi, j);
            var dr = ar - br;
            var di = ai - bi;
            var (lowRe, highRe) = Zip(ar + br, dr * wr - di * wi, s);
            var (lowIm, highIm) = Zip(ai + bi, dr * wi + di * wr, s);
            lowRe.StoreUnsafe(ref yr, 2 * j);
            highRe.StoreUnsafe(ref yr, 2 * j + Width);
            lowIm.StoreUnsafe(ref yi, 2 * j);
            highIm.StoreUnsafe(ref yi, 2 * j + Width);
        }
    }

    // Interleaves a and b in runs of `run` floats: a[0..run) b[0..run) a[run..2run) b[run..2run) ...
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Low, Vector256<float> High) Zip(Vector256<float> a, Vector256<float> b, int run)
    {
        Vector256<float> lo, hi;
        switch (run)
        {
            case 1:
                lo = Avx.UnpackLow(a, b);
                hi = Avx.UnpackHigh(a, b);
                break;
            case 2:
                lo = Avx.UnpackLow(a.AsDouble(), b.AsDouble()).AsSingle();
                hi = Avx.UnpackHigh(a.AsDouble(), b.AsDouble()).AsSingle();
                break;
            default:
                return (Avx.Permute2x128(a, b, 0x20), Avx.Permute2x128(a, b, 0x31));
        }
        // The unpacks work within 128-bit halves: put the halves back in order.
        return (Avx.Permute2x128(lo, hi, 0x20), Avx.Permute2x128(lo, hi, 0x31));
    }

    private void Deinterleave(ReadOnlySpan<float> input, float[] re, float[] im)
    {
        var i = 0;
        if (_vectorised)
        {
            ref var source = ref MemoryMarshal.GetReference(input);
            ref var r = ref MemoryMarshal.GetArrayDataReference(re);
            ref var m = ref MemoryMarshal.GetArrayDataReference(im);
            for (; i + Width <= _m; i += Width)
            {
                var v0 = Vector256.LoadUnsafe(ref source, (nuint)(2 * i));
                var v1 = Vector256.LoadUnsafe(ref source, (nuint)(2 * i + Width));
                // Even and odd elements, each half in the order 0 2 | 4 6 of v0 then v1; the 64-bit permute sorts it.
                var even = Avx.Shuffle(v0, v1, 0b10_00_10_00).AsDouble();
                var odd = Avx.Shuffle(v0, v1, 0b11_01_11_01).AsDouble();
                Avx2.Permute4x64(even, 0b11_01_10_00).AsSingle().StoreUnsafe(ref r, (nuint)i);
                Avx2.Permute4x64(odd, 0b11_01_10_00).AsSingle().StoreUnsafe(ref m, (nuint)i);
            }
        }
        for (; i < _m; i++)
        {
            re[i] = input[2 * i];
            im[i] = input[2 * i + 1];
        }
    }

    private void Interleave(float[] re, float[] im, Span<float> output)
    {
        var i = 0;
        if (_vectorised)
        {
            ref var target = ref MemoryMarshal.GetReference(output);
            for (; i + Width <= _m; i += Width)
            {
                var (low, high) = Zip(Vector256.Create(re, i), Vector256.Create(im, i), 1);
                low.StoreUnsafe(ref target, (nuint)(2 * i));
                high.StoreUnsafe(ref target, (nuint)(2 * i + Width));
            }
        }
        for (; i < _m; i++)
        {
            output[2 * i] = re[i];
            output[2 * i + 1] = im[i];
        }
    }

    // X[k] = E[k] + e^(-2 pi i k / N) O[k] with E = (Z[k] + conj Z[M-k]) / 2 and O = (Z[k] - conj Z[M-k]) / 2i.
    private void SplitForward(float[] zRe, float[] zIm, Span<float> re, Span<float> im)
    {
        // k = 0 and k = M both pair Z[0] with itself.
        re[0] = zRe[0] + zIm[0];
        im[0] = 0;
        re[_m] = zRe[0] - zIm[0];
        im[_m] = 0;
        var k = 1;
        if (_vectorised)
        {
            ref var outRe = ref MemoryMarshal.GetReference(re);
            ref var outIm = ref MemoryMarshal.GetReference(im);
            var halfV = Vector256.Create(0.5f);
            for (; k + Width <= _m; k += Width)
            {
                var a = Vector256.Create(zRe, k);
                var b = Vector256.Create(zIm, k);
                var c = Reverse(Vector256.Create(zRe, _m - k - (Width - 1)));
                var d = Reverse(Vector256.Create(zIm, _m - k - (Width - 1)));
                var cos = Vector256.Create(_splitCos, k);
                var sin = Vector256.Create(_splitSin, k);
                var eRe = halfV * (a + c);
                var eIm = halfV * (b - d);
                var oRe = halfV * (b + d);
                var oIm = halfV * (c - a);
                (eRe + cos * oRe + sin * oIm).StoreUnsafe(ref outRe, (nuint)k);
                (eIm + cos * oIm - sin * oRe).StoreUnsafe(ref outIm, (nuint)k);
            }
        }
        for (; k < _m; k++)
        {
            float a = zRe[k], b = zIm[k], c = zRe[_m - k], d = zIm[_m - k];
            float eRe = 0.5f * (a + c), eIm = 0.5f * (b - d), oRe = 0.5f * (b + d), oIm = 0.5f * (c - a);
            re[k] = eRe + _splitCos[k] * oRe + _splitSin[k] * oIm;
            im[k] = eIm + _splitCos[k] * oIm - _splitSin[k] * oRe;
        }
    }

    // Z[k] = (X[k] + conj X[M-k]) + i e^(+2 pi i k / N) (X[k] - conj X[M-k]), the half-size spectrum whose inverse
    // holds the even samples in its real part and the odd ones in its imaginary part.
    private void SplitInverse(ReadOnlySpan<float> re, ReadOnlySpan<float> im, float[] zRe, float[] zIm)
    {
        // k = 0 pairs DC with Nyquist; their imaginary parts are ignored.
        zRe[0] = re[0] + re[_m];
        zIm[0] = re[0] - re[_m];
        var k = 1;
        if (_vectorised)
        {
            ref var r = ref MemoryMarshal.GetArrayDataReference(zRe);
            ref var m = ref MemoryMarshal.GetArrayDataReference(zIm);
            for (; k + Width <= _m; k += Width)
            {
                var a = Vector256.Create(re[k..]);
                var b = Vector256.Create(im[k..]);
                var c = Reverse(Vector256.Create(re[(_m - k - (Width - 1))..]));
                var d = Reverse(Vector256.Create(im[(_m - k - (Width - 1))..]));
                var cos = Vector256.Create(_splitCos, k);
                var sin = Vector256.Create(_splitSin, k);
                var diff = a - c;
                var sum = b + d;
                var p = diff * cos - sum * sin;
                var q = diff * sin + sum * cos;
                (a + c - q).StoreUnsafe(ref r, (nuint)k);
                (b - d + p).StoreUnsafe(ref m, (nuint)k);
            }
        }
        for (; k < _m; k++)
        {
            float a = re[k], b = im[k], c = re[_m - k], d = im[_m - k];
            var p = (a - c) * _splitCos[k] - (b + d) * _splitSin[k];
            var q = (a - c) * _splitSin[k] + (b + d) * _splitCos[k];
            zRe[k] = a + c - q;
            zIm[k] = b - d + p;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Reverse(Vector256<float> v) => Vector256.Shuffle(v, Vector256.Create(7, 6, 5, 4, 3, 2, 1, 0));
}
