using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Api.Clients;
using MSaaS.Contracts;
using MSaaS.Saga.Persistence;
using MSaaS.Storage;

namespace MSaaS.Api.Tests.Clients;

/// <summary>Quotas and usage through the routes: what a client is charged, refused and shown.</summary>
public sealed class UsageLedger_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new() { ["Api:Clients"] = "keys" });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    [Fact]
    public async Task Should_refuse_a_client_past_its_minutes_with_the_reason_accepting_nothing_while_another_goes_on()
    {
        using var acme = await _api.AddClient("acme", minutesPerMonth: 1);
        using var bravo = await _api.AddClient("bravo");
        // Two of 20 s (the stand-in worker decodes every song as 20 s), then one of 30 s: 70 s of the 60.
        for (var i = 0; i < 2; i++) await _api.WaitForState(await ApiHost.SubmitAs(acme, await ApiHost.Audio(20)), "Completed", acme);
        var over = await ApiHost.Audio(30);

        using var refused = await acme.PostAsync("/apiv1/separate", ApiHost.SongBody(over));

        var reason = await _api.AssertRefused(refused, "past the month's minutes", HttpStatusCode.PaymentRequired);
        Assert.Matches(@"would take acme past its 1 minutes for \d{4}-\d\d: 0\.\d+ min used, 0\.\d+ min left, renewed \d{4}-\d\d-01 00:00 UTC", reason);
        var hash = SongHash.Of(over);
        Assert.Null(await _api.Services.GetRequiredService<ISongStateStore>().LoadAsync(SongHash.Id(hash)));
        Assert.Null(await _api.Services.GetRequiredService<IObjectStore>().StatAsync(SongObjects.Upload(hash)));
        await _api.WaitForState(await ApiHost.SubmitAs(bravo, over), "Completed", bravo);
    }

    [Fact]
    public async Task Should_refuse_a_song_beyond_the_songs_in_flight_with_429()
    {
        using var acme = await _api.AddClient("acme", songsInFlight: 1);
        var first = await ApiHost.Audio(5);
        var script = ApiHost.Script(SongHash.Of(first), 1); // held in separation until the spec lets it go
        try
        {
            await _api.WaitForState(await ApiHost.SubmitAs(acme, first), "Separating", acme);

            using var refused = await acme.PostAsync("/apiv1/separate", ApiHost.SongBody(await ApiHost.Audio(5)));

            Assert.Contains("1 songs in flight", await _api.AssertRefused(refused, "beyond the songs in flight", HttpStatusCode.TooManyRequests));
        }
        finally
        {
            script.Writer.Complete();
        }
    }

    [Fact]
    public async Task Should_show_the_minutes_of_three_songs_by_day_and_not_charge_one_that_failed()
    {
        using var acme = await _api.AddClient("usage-three");
        double counted = 0;
        using var meter = new System.Diagnostics.Metrics.MeterListener();
        meter.InstrumentPublished = (instrument, listener) => { if (instrument.Name == "msaas.client.audio") listener.EnableMeasurementEvents(instrument); };
        meter.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
                if (tag is { Key: "client", Value: "usage-three" })
                    lock (meter) counted += value;
        });
        meter.Start();
        for (var i = 0; i < 3; i++) await _api.WaitForState(await ApiHost.SubmitAs(acme, await ApiHost.Audio(20)), "Completed", acme);
        // A fourth fails in separation: given back.
        var failing = await ApiHost.Audio(20);
        var script = ApiHost.Script(SongHash.Of(failing), 1);
        var hash = await ApiHost.SubmitAs(acme, failing);
        await _api.WaitForState(hash, "Separating", acme);
        script.Writer.Complete();
        await _api.Services.GetRequiredService<IBus>().Publish(new SeparationRefused { SongId = SongHash.Id(hash), SongHash = hash, Reason = "stopped" });
        await _api.WaitForState(hash, "Failed", acme);

        var usage = await Usage(acme, "/apiv1/usage", u => u.GetProperty("songsInFlight").GetInt32() == 0);

        // Each song 20 s as its worker decoded it (the stand-in says 20 s), within a second of what ffprobe read.
        Assert.InRange(usage.GetProperty("audioSeconds").GetDouble(), 59, 61);
        Assert.Equal(3, usage.GetProperty("songs").GetInt32());
        Assert.Equal(3, usage.GetProperty("days").EnumerateArray().Single().GetProperty("songs").GetInt32());
        Assert.Equal("usage-three", usage.GetProperty("client").GetString());
        lock (meter) Assert.Equal(60, counted); // for Prometheus: what was separated, not the failed song
        using var support = new HttpClient { BaseAddress = _api.Client.BaseAddress };
        support.DefaultRequestHeaders.Add("X-Api-Key", ApiHost.SupportKey);
        Assert.Equal(usage.ToString(), (await support.GetFromJsonAsync<JsonElement>("/apiv1/support/clients/usage-three/usage")).ToString());
    }

    [Fact]
    public async Task Should_answer_404_for_usage_when_clients_are_not_told_apart()
    {
        await using var anonymous = await ApiHost.Start();

        await anonymous.AssertRefused(await anonymous.Client.GetAsync("/apiv1/usage"), "usage without clients", HttpStatusCode.NotFound);
    }

    // The song's end is settled by a consumer of SongFinished: looked at until it has been.
    private static async Task<JsonElement> Usage(HttpClient client, string path, Func<JsonElement, bool> settled)
    {
        var usage = await client.GetFromJsonAsync<JsonElement>(path);
        for (var i = 0; i < 200 && !settled(usage); i++)
        {
            await Task.Delay(25);
            usage = await client.GetFromJsonAsync<JsonElement>(path);
        }
        return usage;
    }
}
