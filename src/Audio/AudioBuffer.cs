namespace MSaaS.Audio;

/// <summary>Decoded audio: planar float samples, one array per channel, all of one length.</summary>
public sealed class AudioBuffer
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

    public TimeSpan Duration => TimeSpan.FromSeconds((double)Length / SampleRate);

    public float[] Channel(int index) => _channels[index];

    /// <summary>Reads a raw planar float32 file ([channels, samples], little-endian, no header), as the fixtures are.</summary>
    public static AudioBuffer FromPlanarF32(string path, int channels, int sampleRate)
    {
        var bytes = File.ReadAllBytes(path);
        var perChannel = bytes.Length / sizeof(float) / channels;
        var data = new float[channels][];
        for (var c = 0; c < channels; c++)
        {
            data[c] = new float[perChannel];
            Buffer.BlockCopy(bytes, c * perChannel * sizeof(float), data[c], 0, perChannel * sizeof(float));
        }
        return new AudioBuffer(data, sampleRate);
    }
}
