namespace MSaaS.Audio;

/// <summary>
/// Decoded audio read by position: planar float samples at one rate, every channel of one length. Held in memory
/// (<see cref="AudioBuffer"/>) or spooled to disk (<see cref="SpooledAudio"/>, what a song of any length is decoded to).
/// </summary>
public interface IAudioSource
{
    int SampleRate { get; }

    int ChannelCount { get; }

    /// <summary>Samples per channel.</summary>
    long Length { get; }

    /// <summary>
    /// Copies <paramref name="target"/>.Length samples of <paramref name="channel"/> from <paramref name="start"/> on;
    /// the range must lie within <see cref="Length"/>.
    /// </summary>
    void Read(int channel, long start, Span<float> target);

    /// <summary>Its mono mix's statistics: read from the source unless it gathered them as it was made.</summary>
    MonoStatistics MonoStatistics => MonoStatistics.Of(this);
}

public static class AudioSourceExtensions
{
    extension(IAudioSource source)
    {
        /// <summary>How long the audio plays.</summary>
        public TimeSpan Duration => TimeSpan.FromSeconds((double)source.Length / source.SampleRate);
    }

    /// <summary>Throws unless [<paramref name="start"/>, start + <paramref name="count"/>) lies within the source's length.</summary>
    internal static void CheckRange(this IAudioSource source, int channel, long start, int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(channel);
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(channel, source.ChannelCount);
        if (start < 0 || start + count > source.Length)
            throw new ArgumentOutOfRangeException(nameof(start), $"samples {start}..{start + count} lie outside the audio's {source.Length}");
    }
}
