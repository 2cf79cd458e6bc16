using System.Numerics.Tensors;
using MSaaS.Audio;

namespace MSaaS.Separation.Demucs;

/// <summary>
/// One pass of demucs' apply_model over a whole track: segments of the model's length every
/// (1 - overlap) * length samples, each weighted by a triangular window and overlap-added, the sum divided by
/// the summed weights. A segment that runs past the end is centred on its real samples with zeros beyond the
/// track, and only its centre is kept. Samples are handed on as soon as no later segment can touch them, so
/// memory stays at one segment's worth whatever the song's length.
/// </summary>
internal sealed class SegmentedPass
{
    private const int Planes = Stems.Count * Stems.Channels;

    private readonly ISegmentModel _model;
    private readonly int _segment;
    private readonly float[] _weight;
    private readonly float[][] _sum;
    private readonly float[] _weightSum;
    private readonly float[][] _finished;

    public SegmentedPass(ISegmentModel model)
    {
        _model = model;
        _segment = model.SegmentLength;
        _weight = TriangularWeight(_segment);
        _sum = NewPlanes(_segment);
        _weightSum = new float[_segment];
        _finished = NewPlanes(_segment);
    }

    /// <summary>Receives finished samples: planes[stem * 2 + channel][0..count) for view positions from <c>position</c>.</summary>
    public delegate void Emit(float[][] planes, int count, long position);

    public static int Stride(int segment, double overlap) => Math.Max(1, (int)((1 - overlap) * segment));

    public static int SegmentCount(long length, int segment, double overlap) =>
        (int)((length + Stride(segment, overlap) - 1) / Stride(segment, overlap));

    /// <summary>
    /// Separates the view of <paramref name="track"/> (mono or stereo) that starts <paramref name="delay"/> samples
    /// before the track (zeros there) and runs for <paramref name="viewLength"/> samples, reading one segment of it at a
    /// time. Input samples are mapped through
    /// (x - <paramref name="mean"/>) * <paramref name="gain"/> before the model sees them. <paramref name="lastPass"/>:
    /// no pass follows for this song.
    /// </summary>
    public void Run(IAudioSource track, int delay, long viewLength, double overlap, float mean, float gain, bool lastPass,
        Emit emit, Action segmentDone, CancellationToken cancellationToken)
    {
        var stride = Stride(_segment, overlap);
        foreach (var plane in _sum) Array.Clear(plane);
        Array.Clear(_weightSum);
        long accumulated = 0; // view position of _sum[.][0]

        for (long offset = 0; offset < viewLength; offset += stride)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var length = (int)Math.Min(_segment, viewLength - offset);
            var trim = (_segment - length) / 2;
            var first = offset - trim - delay; // track position of the segment's first sample
            for (var c = 0; c < Stems.Channels; c++)
                FillInput(track, Math.Min(c, track.ChannelCount - 1), first, mean, gain, _model.Input(c));

            _model.Run(lastPass && offset + stride >= viewLength, cancellationToken);

            // _sum[.][0] is at view position `offset` (accumulated == offset).
            for (var p = 0; p < Planes; p++)
            {
                var output = _model.Output(p / Stems.Channels, p % Stems.Channels).Slice(trim, length);
                var sum = _sum[p].AsSpan(0, length);
                TensorPrimitives.MultiplyAdd(output, _weight.AsSpan(0, length), sum, sum);
            }
            var weightSum = _weightSum.AsSpan(0, length);
            TensorPrimitives.Add(weightSum, _weight.AsSpan(0, length), weightSum);
            segmentDone();
            // What lies before the next segment's start is final now: on to the sink (and a listener) before the model
            // runs again, not after.
            if (offset + stride < viewLength)
            {
                Flush(stride, accumulated, emit);
                accumulated = offset + stride;
            }
        }
        Flush((int)(viewLength - accumulated), accumulated, emit);
    }

    private static void FillInput(IAudioSource track, int channel, long first, float mean, float gain, Span<float> input)
    {
        input.Clear();
        var from = (int)Math.Max(0, -first);
        var to = (int)Math.Min(input.Length, track.Length - first);
        if (to <= from) return;
        var samples = input[from..to];
        track.Read(channel, first + from, samples);
        for (var i = 0; i < samples.Length; i++) samples[i] = (samples[i] - mean) * gain;
    }

    // Hands on the first `count` accumulated samples, which no later segment overlaps, and slides the rest down.
    private void Flush(int count, long position, Emit emit)
    {
        if (count <= 0) return;
        for (var p = 0; p < Planes; p++)
        {
            var sum = _sum[p];
            TensorPrimitives.Divide(sum.AsSpan(0, count), _weightSum.AsSpan(0, count), _finished[p]);
            Array.Copy(sum, count, sum, 0, _segment - count);
            Array.Clear(sum, _segment - count, count);
        }
        Array.Copy(_weightSum, count, _weightSum, 0, _segment - count);
        Array.Clear(_weightSum, _segment - count, count);
        emit(_finished, count, position);
    }

    // demucs: [1, 2, ..., n/2, n - n/2, ..., 1] divided by its maximum.
    internal static float[] TriangularWeight(int segment)
    {
        var half = segment / 2;
        var weight = new float[segment];
        var max = (float)Math.Max(half, segment - half);
        for (var i = 0; i < segment; i++) weight[i] = (i < half ? i + 1 : segment - i) / max;
        return weight;
    }

    private static float[][] NewPlanes(int length)
    {
        var planes = new float[Planes][];
        for (var p = 0; p < Planes; p++) planes[p] = new float[length];
        return planes;
    }
}
