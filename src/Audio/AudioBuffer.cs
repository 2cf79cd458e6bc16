namespace MSaaS.Audio;

/// <summary>Decoded audio in memory: planar float samples, one array per channel, all of one length.</summary>
public sealed class AudioBuffer : IAudioSource
{
    private readonly float[][] _channels;

    public AudioBuffer(float[][] channels, int sampleRate)
    {
        if (channels.Length == 0) throw new ArgumentException("audio needs at least one channel", nameof(channels));
        if (channels.Any(c => c.Length != channels[0].Length))
            throw new ArgumentException("every channel must have the same length", nameof(channels));
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(sampleRate);
        _channels = channels;
        SampleRate = sampleRate;
    }

    public int SampleRate { get; }

    public int ChannelCount => _channels.Length;

    /// <summary>Samples per channel.</summary>
    public int Length => _channels[0].Length;

    long IAudioSource.Length => Length;

    public TimeSpan Duration => TimeSpan.FromSeconds((double)Length / SampleRate);

    public float[] Channel(int index) => _channels[index];

    public void Read(int channel, long start, Span<float> target)
    {
        this.CheckRange(channel, start, target.Length);
        _channels[channel].AsSpan((int)start, target.Length).CopyTo(target);
    }
}
