using System.Globalization;

namespace MSaaS.Api.Clients;

/// <summary>
/// One client's usage: per calendar month (UTC, "yyyy-MM") the audio it sent and the songs, by day, with each song's
/// charge; and its songs in flight. Charged when a song is accepted, at the length its headers give; set to the length
/// the worker decoded once the song is done, and given back when it fails. Kept as one document per client, changed
/// only by a conditional write (<see cref="IUsageStore"/>), so that concurrent submissions lose or double nothing.
/// </summary>
public sealed class ClientUsage
{
    /// <summary>The client's name when it was last charged (the metrics' label; the document is kept under its id).</summary>
    public string Client { get; set; } = "";

    public Dictionary<string, MonthUsage> Months { get; set; } = [];

    /// <summary>Songs charged and not yet done: hash → the month they were charged in.</summary>
    public Dictionary<string, string> InFlight { get; set; } = [];

    /// <summary>The client's finished songs: hash → the bytes of their stems when they were stored, until it removes them.</summary>
    public Dictionary<string, long> Stored { get; set; } = [];

    public static string MonthOf(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM", CultureInfo.InvariantCulture);

    public MonthUsage Month(string month) => Months.TryGetValue(month, out var usage) ? usage : Months[month] = new MonthUsage();
}

public sealed class MonthUsage
{
    public double AudioSeconds { get; set; }

    public int Songs { get; set; }

    /// <summary>Day of the month → what was sent that day.</summary>
    public SortedDictionary<int, DayUsage> Days { get; set; } = [];

    /// <summary>Song hash → its charge: a song is charged once a month, however often it is sent.</summary>
    public Dictionary<string, SongCharge> Charges { get; set; } = [];
}

public sealed class DayUsage
{
    public double AudioSeconds { get; set; }

    public int Songs { get; set; }
}

public sealed record SongCharge(double Seconds, int Day);

/// <summary>
/// What a charge came to: accepted or refused (with the status and why), and what this charge added, so that a song not
/// accepted after all takes back exactly that (<see cref="UsageRules.Undo"/>).
/// </summary>
public sealed record ChargeOutcome(bool Accepted, int Status = 200, string? Reason = null, string? ChargedMonth = null, bool AddedInFlight = false);

/// <summary>The rules of charging, on a client's usage document: the same for every store.</summary>
public static class UsageRules
{
    /// <summary>Months whose figures are kept: this one and the 24 before it, for billing and support.</summary>
    public const int MonthsKept = 25;

    /// <summary>
    /// Charges <paramref name="songHash"/> of <paramref name="seconds"/> to the client at <paramref name="now"/>, within
    /// its minutes this month and its songs in flight, or says why not (402 beyond the month's minutes, 429 beyond the
    /// songs in flight). A song in flight, or charged already this month, is not charged again. <paramref name="inFlight"/>:
    /// whether the song will be worked on (false for one whose stems are there already).
    /// </summary>
    public static ChargeOutcome Charge(ClientUsage usage, ServiceClient client, string songHash, double seconds, bool inFlight, DateTimeOffset now)
    {
        if (usage.InFlight.ContainsKey(songHash)) return new ChargeOutcome(true); // charged when it was sent, settled when it ends
        var monthName = ClientUsage.MonthOf(now);
        Compact(usage, now);
        var month = usage.Month(monthName);
        if (inFlight && client.SongsInFlight is { } most && usage.InFlight.Count >= most)
            return new ChargeOutcome(false, 429, $"{client.Name} has {usage.InFlight.Count} songs in flight, the most it may have: send this one when one is done");
        if (month.Charges.ContainsKey(songHash))
        {
            if (!inFlight) return new ChargeOutcome(true);
            usage.InFlight[songHash] = monthName;
            return new ChargeOutcome(true, AddedInFlight: true);
        }
        var next = new DateTimeOffset(now.Year, now.Month, 1, 0, 0, 0, TimeSpan.Zero).AddMonths(1);
        if (client.MinutesPerMonth is { } minutes && month.AudioSeconds + seconds > minutes * 60.0)
            return new ChargeOutcome(false, 402, string.Create(CultureInfo.InvariantCulture,
                $"this song ({Minutes(seconds)}) would take {client.Name} past its {minutes} minutes for {monthName}: {Minutes(month.AudioSeconds)} used, " +
                $"{Minutes(Math.Max(0, minutes * 60.0 - month.AudioSeconds))} left, renewed {next:yyyy-MM-dd} 00:00 UTC"));
        month.AudioSeconds += seconds;
        month.Songs++;
        var day = month.Days.TryGetValue(now.Day, out var d) ? d : month.Days[now.Day] = new DayUsage();
        day.AudioSeconds += seconds;
        day.Songs++;
        month.Charges[songHash] = new SongCharge(seconds, now.Day);
        if (inFlight) usage.InFlight[songHash] = monthName;
        return new ChargeOutcome(true, ChargedMonth: monthName, AddedInFlight: inFlight);
    }

    /// <summary>Takes back what <paramref name="outcome"/> added: the song was not accepted after all.</summary>
    public static bool Undo(ClientUsage usage, string songHash, ChargeOutcome outcome)
    {
        var changed = outcome.AddedInFlight && usage.InFlight.Remove(songHash);
        if (outcome.ChargedMonth is { } monthName && usage.Months.TryGetValue(monthName, out var month) && month.Charges.TryGetValue(songHash, out var charge))
        {
            GiveBack(month, songHash, charge);
            changed = true;
        }
        return changed;
    }

    /// <summary>
    /// The song is done: no longer in flight, and its charge set to <paramref name="decodedSeconds"/> (the worker's
    /// length), or given back when it <paramref name="failed"/>. False when there was nothing to settle.
    /// </summary>
    public static bool Settle(ClientUsage usage, string songHash, bool failed, double? decodedSeconds)
    {
        if (!usage.InFlight.Remove(songHash, out var monthName)) return false;
        if (!usage.Months.TryGetValue(monthName, out var month) || !month.Charges.TryGetValue(songHash, out var charge)) return true;
        if (failed) GiveBack(month, songHash, charge);
        else if (decodedSeconds is { } exact)
        {
            month.Charges[songHash] = charge with { Seconds = exact };
            month.AudioSeconds += exact - charge.Seconds;
            month.Days[charge.Day].AudioSeconds += exact - charge.Seconds;
        }
        return true;
    }

    /// <summary>
    /// Keeps the document the size of one month: a past month keeps its totals and days, and the charges of its songs
    /// only while they are in flight (to be settled); months older than <see cref="MonthsKept"/> go.
    /// </summary>
    private static void Compact(ClientUsage usage, DateTimeOffset now)
    {
        var (current, oldest) = (ClientUsage.MonthOf(now), ClientUsage.MonthOf(now.AddMonths(1 - MonthsKept)));
        foreach (var (name, month) in usage.Months.Where(m => m.Key != current).ToList())
        {
            var settling = usage.InFlight.ContainsValue(name);
            if (!settling && string.CompareOrdinal(name, oldest) < 0) usage.Months.Remove(name);
            else if (month.Charges.Keys.Any(song => !usage.InFlight.ContainsKey(song)))
                month.Charges = month.Charges.Where(c => usage.InFlight.ContainsKey(c.Key)).ToDictionary();
        }
    }

    private static void GiveBack(MonthUsage month, string songHash, SongCharge charge)
    {
        var day = month.Days[charge.Day];
        month.Charges.Remove(songHash);
        (month.AudioSeconds, month.Songs) = (month.AudioSeconds - charge.Seconds, month.Songs - 1);
        (day.AudioSeconds, day.Songs) = (day.AudioSeconds - charge.Seconds, day.Songs - 1);
    }

    private static string Minutes(double seconds) => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60:0.##} min");
}
