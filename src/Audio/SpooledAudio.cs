using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace MSaaS.Audio;

/// <summary>
/// Decoded audio kept on disk, one file of 32-bit floats per channel decoded, read back by position: what a song
/// is decoded to, so that memory does not grow with its length (a 3-hour song is 3.8 GB of float samples). The files
/// are removed when this is disposed (and by the system, as they are opened delete-on-close, when the process ends).
/// A mono source is one file read as both channels. Its mono mix's statistics are gathered as it is written, so
/// normalising a song by them costs no pass over it.
/// </summary>
public sealed class SpooledAudio : IAudioSource, IDisposable
{
    private readonly SafeFileHandle[] _planes;

    private SpooledAudio(SafeFileHandle[] planes, long length, int channels, int sampleRate, MonoStatistics statistics)
    {
        _planes = planes;
        Length = length;
        ChannelCount = channels;
        SampleRate = sampleRate;
        MonoStatistics = statistics;
    }

    public int SampleRate { get; }

    public int ChannelCount { get; }

    public long Length { get; }

    public MonoStatistics MonoStatistics { get; }

    public void Read(int channel, long start, Span<float> target)
    {
        this.CheckRange(channel, start, target.Length);
        var handle = _planes[Math.Min(channel, _planes.Length - 1)];
        var bytes = MemoryMarshal.AsBytes(target);
        var offset = start * sizeof(float);
        while (bytes.Length > 0)
        {
            var read = RandomAccess.Read(handle, bytes, offset);
            if (read == 0) throw new EndOfStreamException($"the spooled audio ends before sample {offset / sizeof(float)}");
            bytes = bytes[read..];
            offset += read;
        }
    }

    public void Dispose()
    {
        foreach (var plane in _planes) plane.Dispose();
    }

    /// <summary>Appends planar blocks to one file per channel in a directory, then hands them over as <see cref="SpooledAudio"/>.</summary>
    internal sealed class Writer(string directory) : IDisposable
    {
        private SafeFileHandle[]? _planes;
        private readonly MonoStatistics.Accumulator _statistics = new();

        public long Length { get; private set; }

        /// <summary>The first <paramref name="count"/> samples of every plane (the planes are the channels kept).</summary>
        public void Write(float[][] planes, int count)
        {
            _planes ??= [.. planes.Select((_, c) => File.OpenHandle(Path.Combine(directory, $"pcm-{c}-{Guid.NewGuid():N}.f32"),
                FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose))];
            for (var c = 0; c < _planes.Length; c++)
                RandomAccess.Write(_planes[c], MemoryMarshal.AsBytes(planes[c].AsSpan(0, count)), Length * sizeof(float));
            Length += count;
            _statistics.Add(planes[0].AsSpan(0, count), planes[_planes.Length - 1].AsSpan(0, count));
        }

        /// <summary>The audio written, as <paramref name="channels"/> channels (a mono file serves both); the files pass to it.</summary>
        public SpooledAudio Complete(int channels, int sampleRate)
        {
            var planes = _planes ?? throw new InvalidOperationException("no audio was written");
            _planes = null;
            return new SpooledAudio(planes, Length, channels, sampleRate, _statistics.Result);
        }

        public void Dispose()
        {
            foreach (var plane in _planes ?? []) plane.Dispose();
            _planes = null;
        }
    }
}
