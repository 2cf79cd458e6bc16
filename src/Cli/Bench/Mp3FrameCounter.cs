namespace MSaaS.Cli.Bench;

/// <summary>
/// Counts the audio in an MPEG-1 Layer III stream as its bytes arrive, frame by frame (1152 samples each), leaving
/// out a first frame that is the Xing/Info tag or its zeroed place (no audio). What a player has to play, without
/// decoding it.
/// </summary>
internal sealed class Mp3FrameCounter
{
    private static readonly int[] Kbps = [0, 32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 0];
    private static readonly int[] Rates = [44_100, 48_000, 32_000, 0];

    private readonly List<byte> _carry = [];
    private long _frames;
    private int _rate = 44_100;
    private bool _first = true;

    public double AudioSeconds => _frames * 1152.0 / _rate;

    public void Add(ReadOnlySpan<byte> bytes)
    {
        _carry.AddRange(bytes);
        var at = 0;
        var span = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_carry);
        while (span.Length - at >= 4)
        {
            // 11 sync bits, MPEG-1 (11), Layer III (01).
            if (span[at] != 0xFF || (span[at + 1] & 0xFE) != 0xFA)
                throw new InvalidDataException($"not an MPEG-1 Layer III frame at byte {at} of what is left");
            var kbps = Kbps[span[at + 2] >> 4];
            var rate = Rates[(span[at + 2] >> 2) & 3];
            if (kbps == 0 || rate == 0) throw new InvalidDataException("a free-format or reserved MP3 frame header");
            var length = 144_000 * kbps / rate + ((span[at + 2] >> 1) & 1);
            if (span.Length - at < length) break;
            // The tag, or its place while the stream grows (LAME writes it zeroed and fills it in at the end).
            var body = span.Slice(at + 4, length - 4);
            var tag = _first && (body.IndexOf("Xing"u8) >= 0 || body.IndexOf("Info"u8) >= 0 || !body.ContainsAnyExcept((byte)0));
            if (!tag) _frames++;
            _first = false;
            _rate = rate;
            at += length;
        }
        _carry.RemoveRange(0, at);
    }
}
