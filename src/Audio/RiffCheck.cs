using System.Buffers.Binary;

namespace MSaaS.Audio;

/// <summary>
/// Catches a WAV file cut short: ffprobe estimates such a file's duration from its size rather than its header,
/// so the header's own data length is compared with what the file holds.
/// </summary>
internal static class RiffCheck
{
    public static void ThrowIfTruncated(string path, string? name = null)
    {
        using var file = File.OpenRead(path);
        Span<byte> header = stackalloc byte[12];
        if (file.ReadAtLeast(header, 12, throwOnEndOfStream: false) < 12) return;
        if (!header[..4].SequenceEqual("RIFF"u8) || !header[8..12].SequenceEqual("WAVE"u8)) return;

        Span<byte> chunk = stackalloc byte[8];
        while (file.ReadAtLeast(chunk, 8, throwOnEndOfStream: false) == 8)
        {
            var size = BinaryPrimitives.ReadUInt32LittleEndian(chunk[4..]);
            if (chunk[..4].SequenceEqual("data"u8))
            {
                var available = file.Length - file.Position;
                // 0 and 0xFFFFFFFF mark a length the writer did not know (a stream, or RF64).
                if (size != 0 && size != uint.MaxValue && size > available)
                    throw new AudioFormatException(
                        $"{name ?? Path.GetFileName(path)} is truncated: its header declares {size} bytes of audio but the file holds {available}");
                return;
            }
            file.Seek(size + (size & 1), SeekOrigin.Current);
        }
    }
}
