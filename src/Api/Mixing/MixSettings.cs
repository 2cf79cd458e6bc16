using System.Globalization;
using Microsoft.AspNetCore.Http;
using MSaaS.Audio;
using MSaaS.Storage;

namespace MSaaS.Api.Mixing;

/// <summary>
/// One gain per stem, 0 to 2 (1: as separated), in the order of <see cref="Stems.Names"/>. Gains are kept to two
/// decimals: that is the mix's identity, in its cache name and its file name.
/// </summary>
public sealed record MixSettings
{
    public const double MaxGain = 2;

    private MixSettings(int[] percent) => Percent = percent;

    /// <summary>Each stem's gain in percent (0 to 200), in the order of <see cref="Stems.Names"/>.</summary>
    public IReadOnlyList<int> Percent { get; }

    public double Gain(int stem) => Percent[stem] / 100.0;

    /// <summary>The mix of <paramref name="gains"/> by stem name; a stem not named keeps gain 1.</summary>
    public static MixSettings Of(IReadOnlyDictionary<string, double> gains) =>
        new([.. Stems.Names.Select(n => gains.TryGetValue(n, out var g) ? (int)Math.Round(g * 100, MidpointRounding.AwayFromZero) : 100)]);

    /// <summary>Reads ?drums=1&amp;bass=1&amp;other=1&amp;vocals=0; null and a reason when a name or a value is not one.</summary>
    public static MixSettings? Parse(IQueryCollection query, out string? error)
    {
        var gains = new Dictionary<string, double>();
        foreach (var (name, values) in query)
        {
            var stem = Stems.Names.FirstOrDefault(n => n.Equals(name, StringComparison.OrdinalIgnoreCase));
            if (stem is null)
            {
                error = $"unknown parameter '{name}': a mix takes {string.Join(", ", Stems.Names)}, each a gain from 0 to {MaxGain}";
                return null;
            }
            if (values.Count != 1 || !double.TryParse(values[0], NumberStyles.Float, CultureInfo.InvariantCulture, out var gain)
                || !double.IsFinite(gain) || gain is < 0 or > MaxGain)
            {
                error = $"{stem}={values}: a gain is one number from 0 to {MaxGain}";
                return null;
            }
            gains[stem] = gain;
        }
        var settings = Of(gains);
        error = settings.Percent.All(p => p == 0) ? "every gain is 0: that mix is silence" : null;
        return error is null ? settings : null;
    }

    /// <summary>drums100-bass100-other100-vocals0</summary>
    public string Name => string.Join('-', Stems.Names.Select((n, i) => n + Percent[i].ToString(CultureInfo.InvariantCulture)));

    /// <summary>What a person calls the two mixes asked for most; otherwise the gains.</summary>
    public string FileName => Name switch
    {
        "drums100-bass100-other100-vocals0" => "instrumental.mp3",
        "drums0-bass0-other0-vocals100" => "vocals-only.mp3",
        _ => $"mix-{Name}.mp3",
    };

    /// <summary>Where the mix is kept: output/&lt;songhash&gt;-mix-drums100-bass100-other100-vocals0.mp3</summary>
    public ObjectKey Key(string songHash) => new(SongObjects.StemBucket, $"{Prefix(songHash)}{Name}.mp3");

    /// <summary>The prefix every kept mix of a song shares in the stem bucket.</summary>
    public static string Prefix(string songHash) => $"{songHash}-mix-";
}
