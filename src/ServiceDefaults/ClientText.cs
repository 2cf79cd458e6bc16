using System.Globalization;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// What a client sent, made fit to repeat in a reason, a log line, the legacy "logging" list or a dead letter: cut to
/// a small bound (the rest named by its length) and with control characters shown as escapes, so that no client can
/// write megabytes or forge lines anywhere by sending them.
/// </summary>
public static class ClientText
{
    /// <summary>How much of a value a quote keeps.</summary>
    public const int QuoteLength = 80;

    /// <summary>The value in single quotes, cut to <paramref name="max"/> characters: <c>'abc... (20000000 characters)'</c>.</summary>
    public static string Quote(string? value, int max = QuoteLength) => value is null ? "(none)" : $"'{Cut(value, max)}'";

    /// <summary>The value cut to <paramref name="max"/> characters, control characters escaped; its length follows when cut.</summary>
    public static string Cut(string value, int max)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        var kept = value.Length > max ? value[..max] : value;
        if (kept.Length > 0 && char.IsHighSurrogate(kept[^1])) kept = kept[..^1]; // never half a character
        var clean = kept.Any(char.IsControl) ? string.Concat(kept.Select(Escape)) : kept;
        return value.Length > max ? $"{clean}... ({value.Length.ToString(CultureInfo.InvariantCulture)} characters)" : clean;
    }

    private static string Escape(char c) => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString();
}
