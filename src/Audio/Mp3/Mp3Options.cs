using System.ComponentModel.DataAnnotations;

namespace MSaaS.Audio.Mp3;

/// <summary>
/// How stems are encoded (configuration section "Mp3"). The default is what <c>demucs --mp3</c> produces: CBR
/// 320 kbps, 44.1 kHz stereo.
/// </summary>
public sealed record Mp3Options : IValidatableObject
{
    public const string Section = "Mp3";

    /// <summary>Constant bitrate in kbps (32..320), used unless <see cref="VbrQuality"/> is set.</summary>
    public int BitrateKbps { get; init; } = 320;

    /// <summary>VBR quality, 0 (best) to 9.999; null for CBR.</summary>
    public float? VbrQuality { get; init; }

    public int SampleRate { get; init; } = 44_100;

    /// <summary>LAME's algorithm quality, 0 (best, slowest) to 9; 2 is LAME's "high quality" preset.</summary>
    public int Quality { get; init; } = 2;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first setting LAME would refuse.</summary>
    public void Validate()
    {
        if (Problems().FirstOrDefault() is { } problem)
            throw new ArgumentOutOfRangeException(problem.MemberNames.First(), problem.ErrorMessage);
    }

    IEnumerable<ValidationResult> IValidatableObject.Validate(ValidationContext validationContext) => Problems();

    private IEnumerable<ValidationResult> Problems()
    {
        if (VbrQuality is null && BitrateKbps is < 32 or > 320)
            yield return new ValidationResult($"MP3 bitrates run from 32 to 320 kbps, not {BitrateKbps}", [nameof(BitrateKbps)]);
        if (VbrQuality is { } q && q is < 0 or >= 10)
            yield return new ValidationResult($"VBR quality runs from 0 to 9.999, not {q}", [nameof(VbrQuality)]);
        if (SampleRate is not (32_000 or 44_100 or 48_000))
            yield return new ValidationResult($"MPEG-1 layer III rates are 32000, 44100 and 48000 Hz, not {SampleRate}", [nameof(SampleRate)]);
        if (Quality is < 0 or > 9) yield return new ValidationResult($"LAME quality runs from 0 to 9, not {Quality}", [nameof(Quality)]);
    }
}
