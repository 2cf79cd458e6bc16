using System.Numerics.Tensors;

namespace MSaaS.Separation.Dsp;

/// <summary>
/// The spectrogram that htdemucs takes as its second input, and the inverse that turns its frequency-branch output
/// back into a waveform: torch.stft / torch.istft with n_fft 4096, hop 1024, periodic Hann, normalized=True,
/// center=True, framed exactly as demucs' HTDemucs._spec / _ispec do for one 343,980-sample segment.
/// An instance owns scratch buffers: use one per thread.
/// </summary>
public sealed class HtDemucsSpectrogram
{
    public const int NFft = 4096;
    public const int Hop = 1024;
    public const int SegmentLength = 343_980;
    /// <summary>ceil(343980 / 1024) frames are kept, and 2048 of the 2049 bins.</summary>
    public const int Frames = 336;
    public const int Bins = NFft / 2;
    public const int PlaneLength = Bins * Frames;

    /// <summary>demucs pads hop/2*3 = 1536 on the left before the STFT...</summary>
    public const int PadLeft = Hop / 2 * 3;
    /// <summary>...and 1536 + 336*1024 - 343980 = 1620 on the right, so 336 hops cover the padded segment.</summary>
    public const int PadRight = PadLeft + Frames * Hop - SegmentLength;
    private const int PaddedLength = SegmentLength + PadLeft + PadRight;

    // torch.stft/istft with normalized=True scale the forward and the inverse transform by 1/sqrt(n_fft).
    private const float Scale = 1f / 64f;

    private static readonly float[] Window = CreateWindow();
    // The window with the 1/sqrt(n_fft) of either direction folded in: the spectrogram is linear, so scaling
    // the frame before the FFT is scaling the bins after it.
    private static readonly float[] ScaledWindow = Window.Select(w => w * Scale).ToArray();
    private static readonly float[] InverseWindowSum = CreateInverseWindowSum();

    private readonly RealFft _fft = new(NFft);
    private readonly float[] _padded = new float[PaddedLength];
    private readonly float[] _frame = new float[NFft];
    // Frames go through the FFT a block at a time, so that moving between frame order and the model's
    // [bin, frame] planes reads and writes whole cache lines instead of one float per line.
    private const int Block = 16; // divides the 336 frames
    private const int Stride = Bins + 1;
    private readonly float[] _blockRe = new float[Block * Stride];
    private readonly float[] _blockIm = new float[Block * Stride];
    private readonly float[] _ola = new float[SegmentLength];

    /// <summary>
    /// Spectrogram of one channel of a segment: <paramref name="re"/> and <paramref name="im"/> are [2048 bins, 336 frames]
    /// planes, as the model's complex-as-channels input wants them.
    /// </summary>
    public void Forward(ReadOnlySpan<float> segment, Span<float> re, Span<float> im)
    {
        if (segment.Length != SegmentLength) throw new ArgumentException($"a segment has {SegmentLength} samples", nameof(segment));
        ReflectPad(segment, _padded, PadLeft);

        // torch's center=True adds 2048 reflected samples on each side; demucs keeps frames 2..337 of the 340,
        // which start exactly at padded[0], so the kept frames never read the second padding.
        for (var f0 = 0; f0 < Frames; f0 += Block)
        {
            for (var j = 0; j < Block; j++)
            {
                TensorPrimitives.Multiply(_padded.AsSpan((f0 + j) * Hop, NFft), ScaledWindow, _frame);
                _fft.Forward(_frame, _blockRe.AsSpan(j * Stride, Stride), _blockIm.AsSpan(j * Stride, Stride));
            }
            Simd.Transpose(_blockRe, Stride, re[f0..], Frames, Block, Bins);
            Simd.Transpose(_blockIm, Stride, im[f0..], Frames, Block, Bins);
        }
    }

    /// <summary>
    /// Waveform of one channel of one source from the model's frequency branch (steps 1-4 of the post-processing):
    /// the [2048, 336] planes get a zero Nyquist bin and two silent frames on each side, go through the inverse
    /// STFT, are divided by the overlap-added squared window and cropped to the segment.
    /// </summary>
    public void Inverse(ReadOnlySpan<float> re, ReadOnlySpan<float> im, Span<float> destination)
    {
        if (destination.Length != SegmentLength) throw new ArgumentException($"a segment has {SegmentLength} samples", nameof(destination));
        Array.Clear(_ola);
        for (var f0 = 0; f0 < Frames; f0 += Block)
        {
            Simd.Transpose(re[f0..], Frames, _blockRe, Stride, Bins, Block);
            Simd.Transpose(im[f0..], Frames, _blockIm, Stride, Bins, Block);
            for (var j = 0; j < Block; j++)
            {
                _blockRe[j * Stride + Bins] = 0; // the model has no Nyquist bin
                _blockIm[j * Stride + Bins] = 0;
                _fft.Inverse(_blockRe.AsSpan(j * Stride, Stride), _blockIm.AsSpan(j * Stride, Stride), _frame);

                // Kept frame f is torch frame f + 2; dropping the 2048 centre samples and the 1536 pad puts its
                // first sample at output index f * 1024 - 1536.
                var start = (f0 + j) * Hop - PadLeft;
                var from = Math.Max(0, -start);
                var to = Math.Min(NFft, SegmentLength - start);
                var ola = _ola.AsSpan(start + from, to - from);
                TensorPrimitives.MultiplyAdd(_frame.AsSpan(from, to - from), ScaledWindow.AsSpan(from, to - from), ola, ola);
            }
        }
        TensorPrimitives.Multiply(_ola, InverseWindowSum, destination);
    }

    /// <summary>numpy 'reflect' padding: mirror around the edge sample without repeating it.</summary>
    internal static void ReflectPad(ReadOnlySpan<float> source, Span<float> destination, int left)
    {
        var n = source.Length;
        var right = destination.Length - left - n;
        if (left >= n || right >= n || right < 0)
            throw new ArgumentException("reflect padding must be shorter than the signal");
        source.CopyTo(destination[left..]);
        for (var j = 0; j < left; j++) destination[j] = source[left - j];
        for (var j = 0; j < right; j++) destination[left + n + j] = source[n - 2 - j];
    }

    private static float[] CreateWindow()
    {
        var w = new float[NFft];
        for (var t = 0; t < NFft; t++) w[t] = (float)(0.5 - 0.5 * Math.Cos(2 * Math.PI * t / NFft));
        return w;
    }

    // 1 / (sum of the squared windows of all 340 torch frames) at each kept output sample, as torch.istft divides.
    private static float[] CreateInverseWindowSum()
    {
        const int totalFrames = Frames + 4;
        const int offset = PadLeft + NFft / 2; // output index 0 is position 3584 of the full overlap-add
        var result = new float[SegmentLength];
        for (var i = 0; i < SegmentLength; i++)
        {
            var p = i + offset;
            double sum = 0;
            for (var f = Math.Max(0, (p - NFft + Hop) / Hop); f < totalFrames && f * Hop <= p; f++)
            {
                var t = p - f * Hop;
                if (t < NFft)
                {
                    double w = Window[t];
                    sum += w * w;
                }
            }
            result[i] = sum > 1e-11 ? (float)(1 / sum) : 1f;
        }
        return result;
    }
}
