using MSaaS.Api.Clients;

namespace MSaaS.Api.Tests.Clients;

/// <summary>The rules of a client's usage document over the months: figures kept, songs let go.</summary>
public sealed class UsageRules_Specs
{
    private static readonly ServiceClient Acme = new() { Id = "c1", Name = "acme", CreatedAt = DateTimeOffset.UnixEpoch };
    private static readonly DateTimeOffset November = new(2026, 11, 20, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Should_keep_a_past_months_figures_and_only_the_songs_still_to_settle_once_a_new_month_is_charged()
    {
        var usage = new ClientUsage();
        UsageRules.Charge(usage, Acme, "done", 100, inFlight: true, November);
        UsageRules.Charge(usage, Acme, "late", 50, inFlight: true, November);
        UsageRules.Settle(usage, "done", failed: false, decodedSeconds: 90);

        UsageRules.Charge(usage, Acme, "next", 30, inFlight: true, November.AddDays(15));

        var past = usage.Months["2026-11"];
        Assert.Equal(["late"], past.Charges.Keys);
        Assert.Equal((140, 2), (past.AudioSeconds, past.Songs));
        Assert.Equal(140, past.Days[20].AudioSeconds);
        // The song still in flight from the past month settles there.
        Assert.True(UsageRules.Settle(usage, "late", failed: false, decodedSeconds: 40));
        Assert.Equal((130, 2), (past.AudioSeconds, past.Songs));
        Assert.Equal(["next"], usage.Months["2026-12"].Charges.Keys);
    }

    [Fact]
    public void Should_forget_months_older_than_it_keeps_unless_a_song_of_theirs_is_still_to_settle()
    {
        var usage = new ClientUsage();
        UsageRules.Charge(usage, Acme, "gone", 100, inFlight: false, November.AddMonths(-1));
        UsageRules.Charge(usage, Acme, "stuck", 100, inFlight: true, November);
        var later = November.AddMonths(UsageRules.MonthsKept);

        UsageRules.Charge(usage, Acme, "now", 10, inFlight: false, later);

        Assert.Equal(["2026-11", "2028-12"], usage.Months.Keys.Order());
        UsageRules.Settle(usage, "stuck", failed: false, decodedSeconds: 100);
        UsageRules.Charge(usage, Acme, "more", 10, inFlight: false, later);
        Assert.Equal(["2028-12"], usage.Months.Keys);
    }
}
