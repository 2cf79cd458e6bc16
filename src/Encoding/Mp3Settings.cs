namespace MSaaS.Encoding;

/// <summary>How stems are encoded. The default is what <c>demucs --mp3</c> produces: CBR 320 kbps, 44.1 kHz stereo.</summary>
public sealed record Mp3Settings
{
    /// <summary>Constant bitrate in kbps (32..320), used unless <see cref="VbrQuality"/> is set.</summary>
    public int BitrateKbps { get; init; } = 320;

    /// <summary>VBR quality, 0 (best) to 9.999; null for CBR.</summary>
    public float? VbrQuality { get; init; }

    public int SampleRate { get; init; } = 44_100;

    /// <summary>LAME's algorithm quality, 0 (best, slowest) to 9; 2 is LAME's "high quality" preset.</summary>
    public int Quality { get; init; } = 2;

    public void Validate()
    {
        if (VbrQuality is null && BitrateKbps is < 32 or > 320)
            throw new ArgumentOutOfRangeException(nameof(BitrateKbps), BitrateKbps, "MP3 bitrates run from 32 to 320 kbps");
        if (VbrQuality is { } q && q is < 0 or >= 10)
            throw new ArgumentOutOfRangeException(nameof(VbrQuality), q, "VBR quality runs from 0 to 9.999");
        if (Quality is < 0 or > 9) throw new ArgumentOutOfRangeException(nameof(Quality), Quality, "LAME quality runs from 0 to 9");
    }
}
