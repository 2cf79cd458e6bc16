using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;
using MSaaS.Audio;
using MSaaS.ServiceDefaults;

namespace MSaaS.Separation.Demucs;

/// <summary>
/// The sum of every stem over several passes (demucs' shifts), kept on disk rather than in memory: eight planes of a
/// song's length, so a 3-hour song with shifts costs 15 GB of disk and no more memory than a 3-minute one. One file,
/// plane after plane, under this process's scratch root and removed when this is disposed (or when the process ends:
/// it is opened delete-on-close).
/// </summary>
internal sealed class StemSums : IDisposable
{
    private const int Planes = Stems.Count * Stems.Channels;

    private readonly SafeFileHandle _file;
    private readonly long _length;
    private readonly float[] _scratch;

    /// <param name="length">Samples per plane.</param>
    /// <param name="blockLength">The most samples one <see cref="Add"/> or <see cref="Read"/> takes.</param>
    public StemSums(long length, int blockLength)
    {
        _length = length;
        _scratch = new float[blockLength];
        _file = File.OpenHandle(Path.Combine(ScratchDirectories.RootPath, $"stem-sums-{Guid.NewGuid():N}.f32"),
            FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, FileOptions.DeleteOnClose);
        RandomAccess.SetLength(_file, Planes * length * sizeof(float)); // sparse: zeros until written
    }

    /// <summary>Adds planes[p][from..from + count) to every plane p's samples from <paramref name="position"/> on.</summary>
    public void Add(float[][] planes, int from, int count, long position)
    {
        for (var p = 0; p < Planes; p++)
        {
            var sum = _scratch.AsSpan(0, count);
            var offset = Offset(p, position, count);
            ReadExactly(sum, offset);
            var source = planes[p].AsSpan(from, count);
            for (var i = 0; i < sum.Length; i++) sum[i] += source[i];
            RandomAccess.Write(_file, MemoryMarshal.AsBytes(sum), offset);
        }
    }

    /// <summary>Copies <paramref name="count"/> samples of every plane from <paramref name="position"/> into planes[p][0..count).</summary>
    public void Read(long position, float[][] planes, int count)
    {
        for (var p = 0; p < Planes; p++) ReadExactly(planes[p].AsSpan(0, count), Offset(p, position, count));
    }

    public void Dispose() => _file.Dispose();

    private long Offset(int plane, long position, int count)
    {
        if (position < 0 || position + count > _length) throw new ArgumentOutOfRangeException(nameof(position));
        return (plane * _length + position) * sizeof(float);
    }

    private void ReadExactly(Span<float> target, long offset)
    {
        var bytes = MemoryMarshal.AsBytes(target);
        while (bytes.Length > 0)
        {
            var read = RandomAccess.Read(_file, bytes, offset);
            if (read == 0) throw new EndOfStreamException("the stem sums end early");
            bytes = bytes[read..];
            offset += read;
        }
    }
}
