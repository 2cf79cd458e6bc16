using MSaaS.Audio;

namespace MSaaS.Api.Uploads;

/// <summary>
/// How long a client's upload is, for its charge: TagLib# reads an MP3's length from the Xing, Info or VBRI frame that
/// LAME and other encoders write, in this process; anything else (an MP3 without that frame, another format, what is
/// not audio) goes to ffprobe (a process: about 60 ms of CPU), which says what is wrong with what it cannot read.
/// </summary>
public sealed class SongLength(FfmpegDecoder decoder)
{
    /// <summary>The length in seconds; <see cref="AudioFormatException"/> for what is not audio or says no length.</summary>
    public async Task<double> ReadAsync(string path, ReadOnlyMemory<byte> head, CancellationToken cancellationToken)
    {
        if (IsMp3(head.Span) && TagBytes(head.Span) <= LargestTag)
        {
            try
            {
                using var file = TagLib.File.Create(new TagLib.File.LocalFileAbstraction(path), "taglib/mp3", TagLib.ReadStyle.Average);
                // Only a length the encoder wrote down: one guessed from the bitrate would take any bytes for audio.
                if (file.Properties is { Duration.TotalSeconds: > 0 and var seconds } && await HasLengthFrameAsync(path, file.InvariantStartPosition, cancellationToken))
                    return seconds;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // ffprobe says what is wrong with it, in the words the worker would use.
            }
        }
        return (await decoder.ProbeLengthAsync(path, "the upload", cancellationToken)).TotalSeconds;
    }

    // The first frame after the tags carries "Xing" (VBR) or "Info" (CBR, LAME) at 13-36 bytes in, or "VBRI" at 36: the
    // frame that says how many frames follow. (TagLib# reads "Xing" and "VBRI" alone, not LAME's "Info".)
    private static async Task<bool> HasLengthFrameAsync(string path, long audioStart, CancellationToken cancellationToken)
    {
        var frame = new byte[48];
        await using var file = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1, useAsync: true);
        file.Position = audioStart;
        var read = await file.ReadAtLeastAsync(frame, frame.Length, throwOnEndOfStream: false, cancellationToken);
        if (read < frame.Length || frame[0] != 0xFF || (frame[1] & 0xE6) != 0xE2) return false;
        var body = frame.AsSpan(4);
        return body.IndexOf("Xing"u8) >= 0 || body.IndexOf("Info"u8) >= 0 || body.IndexOf("VBRI"u8) >= 0;
    }

    // TagLib# reads an ID3v2 tag whole, cover art and all: a client could make the api hold hundreds of MB for one
    // upload. A larger tag goes to ffprobe, which skips it.
    private const long LargestTag = 4 << 20;

    // The ID3v2 tag's size from its header (a synchsafe integer), or 0 for none.
    private static long TagBytes(ReadOnlySpan<byte> head) => head.Length >= 10 && head.StartsWith("ID3"u8)
        ? 10 + ((head[6] & 0x7F) << 21 | (head[7] & 0x7F) << 14 | (head[8] & 0x7F) << 7 | (head[9] & 0x7F))
        : 0;

    private static bool IsMp3(ReadOnlySpan<byte> head) =>
        head.StartsWith("ID3"u8) || (head.Length >= 2 && head[0] == 0xFF && (head[1] & 0xE6) == 0xE2); // a tag, or an MPEG layer III frame
}
