namespace MSaaS.Api.Uploads;

/// <summary>
/// A quick look at an upload's first bytes, so that a text file or an image is refused with a 400 at once;
/// the separation service decodes it fully and fails the song if it is damaged further in.
/// </summary>
public static class AudioSniffer
{
    public static bool LooksLikeAudio(ReadOnlySpan<byte> head)
    {
        if (head.Length < 4) return false;
        if (head.StartsWith("ID3"u8)) return true;                                        // MP3 with an ID3v2 tag
        if (head[0] == 0xFF && (head[1] & 0xE0) == 0xE0 && (head[1] & 0x06) != 0) return true; // MPEG audio frame sync (layer set)
        if (head.StartsWith("RIFF"u8) && head.Length >= 12 && head[8..12].SequenceEqual("WAVE"u8)) return true;
        if (head.StartsWith("fLaC"u8) || head.StartsWith("OggS"u8)) return true;
        if (head.Length >= 8 && head[4..8].SequenceEqual("ftyp"u8)) return true;           // MP4/M4A
        if (head.StartsWith("FORM"u8) && head.Length >= 12 && (head[8..12].SequenceEqual("AIFF"u8) || head[8..12].SequenceEqual("AIFC"u8))) return true;
        return false;
    }
}
