using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace MSaaS.Audio;

/// <summary>
/// Streams stereo float samples into a 16-bit PCM WAV file. The file is written under a temporary name and
/// appears under its final name only when <see cref="Complete"/> succeeds, so a failed or cancelled run never
/// leaves a stem that looks finished. Samples are clamped to [-1, 1] (demucs' "clamp" mode; rescaling would need
/// the whole stem before the first byte could be written).
/// </summary>
public sealed class WavWriter : IDisposable
{
    private const int HeaderBytes = 44;
    private const int Channels = 2;
    private const int BytesPerSample = 2;

    private readonly string _path;
    private readonly string _partialPath;
    private readonly FileStream _stream;
    private readonly int _sampleRate;
    private byte[] _scratch = new byte[64 * 1024];
    private long _frames;
    private bool _completed;

    public WavWriter(string path, int sampleRate)
    {
        _path = path;
        _sampleRate = sampleRate;
        _partialPath = path + ".partial";
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        _stream = new FileStream(_partialPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 16);
        _stream.Write(new byte[HeaderBytes]);
    }

    public long FramesWritten => _frames;

    public void Write(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
    {
        if (left.Length != right.Length) throw new ArgumentException("both channels must have the same length");
        ObjectDisposedException.ThrowIf(_completed, this);
        var bytes = left.Length * Channels * BytesPerSample;
        if (_scratch.Length < bytes) _scratch = new byte[bytes];
        var span = _scratch.AsSpan(0, bytes);
        var i = 0;
        if (Vector256.IsHardwareAccelerated && BitConverter.IsLittleEndian)
        {
            // Eight frames at a time: each frame is one 32-bit word, the left sample in its low half.
            var frames = MemoryMarshal.Cast<byte, int>(span);
            for (; i + Vector256<float>.Count <= left.Length; i += Vector256<float>.Count)
            {
                var l = ToPcm16(Vector256.Create(left[i..]));
                var r = ToPcm16(Vector256.Create(right[i..]));
                ((l & Vector256.Create(0xFFFF)) | (r << 16)).CopyTo(frames[i..]);
            }
        }
        for (; i < left.Length; i++)
        {
            BinaryPrimitives.WriteInt16LittleEndian(span[(4 * i)..], ToPcm16(left[i]));
            BinaryPrimitives.WriteInt16LittleEndian(span[(4 * i + 2)..], ToPcm16(right[i]));
        }
        _stream.Write(span);
        _frames += left.Length;
    }

    /// <summary>Finishes the header, flushes to disk and publishes the file under its final name.</summary>
    public void Complete()
    {
        if (_completed) return;
        var dataBytes = _frames * Channels * BytesPerSample;
        if (dataBytes > uint.MaxValue - HeaderBytes) throw new InvalidOperationException("WAV data exceeds 4 GiB");
        _stream.Position = 0;
        _stream.Write(Header(_sampleRate, (uint)dataBytes));
        _stream.Flush(flushToDisk: true);
        _stream.Dispose();
        File.Move(_partialPath, _path, overwrite: true);
        _completed = true;
    }

    public void Dispose()
    {
        if (_completed) return;
        _stream.Dispose();
        File.Delete(_partialPath);
        _completed = true;
    }

    internal static short ToPcm16(float sample)
    {
        var scaled = MathF.Round(Math.Clamp(sample, -1f, 1f) * short.MaxValue);
        return (short)scaled;
    }

    // As the scalar ToPcm16: clamp, scale, round half to even.
    private static Vector256<int> ToPcm16(Vector256<float> samples) =>
        Vector256.ConvertToInt32(Vector256.Round(Vector256.Clamp(samples, Vector256.Create(-1f), Vector256<float>.One) * short.MaxValue));

    private static byte[] Header(int sampleRate, uint dataBytes)
    {
        var h = new byte[HeaderBytes];
        "RIFF"u8.CopyTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(4), 36 + dataBytes);
        "WAVEfmt "u8.CopyTo(h.AsSpan(8));
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 16);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(20), 1); // PCM
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(22), Channels);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(24), (uint)sampleRate);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(28), (uint)(sampleRate * Channels * BytesPerSample));
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(32), Channels * BytesPerSample);
        BinaryPrimitives.WriteUInt16LittleEndian(h.AsSpan(34), 8 * BytesPerSample);
        "data"u8.CopyTo(h.AsSpan(36));
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(40), dataBytes);
        return h;
    }
}
