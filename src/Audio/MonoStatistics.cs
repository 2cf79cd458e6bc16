namespace MSaaS.Audio;

/// <summary>
/// The mean and the unbiased standard deviation (as torch.std) of a track's mono mix, the average of its first and last
/// channels: what demucs normalises a whole song by. Gathered a block at a time (block means and squared deviations,
/// merged as Chan, Golub and LeVeque do), so one pass gives what two passes over the whole track would, and no track is
/// held whole.
/// </summary>
public readonly record struct MonoStatistics(double Mean, double StandardDeviation)
{
    private const int BlockLength = 1 << 16;

    /// <summary>Reads <paramref name="track"/> once, a block at a time.</summary>
    public static MonoStatistics Of(IAudioSource track)
    {
        var accumulator = new Accumulator();
        var (left, right) = (new float[BlockLength], new float[BlockLength]);
        for (long start = 0; start < track.Length; start += BlockLength)
        {
            var n = (int)Math.Min(BlockLength, track.Length - start);
            track.Read(0, start, left.AsSpan(0, n));
            track.Read(track.ChannelCount - 1, start, right.AsSpan(0, n));
            accumulator.Add(left.AsSpan(0, n), right.AsSpan(0, n));
        }
        return accumulator.Result;
    }

    /// <summary>Takes a track's samples in order, a block at a time, as they are decoded.</summary>
    public sealed class Accumulator
    {
        private long _count;
        private double _mean;
        private double _squares; // sum of squared deviations from the mean so far

        /// <summary>The next samples of the first and the last channel (the same span for a mono track).</summary>
        public void Add(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
        {
            if (left.Length != right.Length) throw new ArgumentException("the channels' blocks differ in length", nameof(right));
            var n = left.Length;
            if (n == 0) return;
            double sum = 0;
            for (var i = 0; i < n; i++) sum += 0.5 * ((double)left[i] + right[i]);
            var blockMean = sum / n;
            double squares = 0;
            for (var i = 0; i < n; i++)
            {
                var d = 0.5 * ((double)left[i] + right[i]) - blockMean;
                squares += d * d;
            }
            var total = _count + n;
            var delta = blockMean - _mean;
            _mean += delta * n / total;
            _squares += squares + delta * delta * ((double)_count * n / total);
            _count = total;
        }

        /// <summary>The statistics of every sample added; a standard deviation of 0 for fewer than two.</summary>
        public MonoStatistics Result => new(_mean, _count > 1 ? Math.Sqrt(_squares / (_count - 1)) : 0);
    }
}
