using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using MSaaS.Contracts;
using MSaaS.Notifications;
using MSaaS.Testing;

namespace MSaaS.Notifications.Tests;

/// <summary>
/// What a client's misbehaviour puts in the log (issue 25, 6): a line at Information or Warning, without a stack trace.
/// Error is for the service's own faults.
/// </summary>
public sealed class LogHygiene_Specs
{
    [Fact]
    public async Task Should_say_in_one_warning_line_that_a_clients_webhook_circuit_opened()
    {
        var log = new LogRecorder();
        var port = ClosedPort();
        var client = Client(log, ("Webhooks:MaxAttempts", "1"), ("Webhooks:BreakerMinimumCalls", "4"), ("Webhooks:BreakerFailureRatio", "0.5"),
            ("Webhooks:BreakerDuration", "00:01:00"));

        for (var i = 0; i < 4; i++) await client.DeliverAsync(new Callback { Url = $"http://127.0.0.1:{port}/hook" }, "d", default);
        var blocked = await client.DeliverAsync(new Callback { Url = $"http://127.0.0.1:{port}/hook" }, "d", default);

        Assert.Contains("failed too often", blocked.Error); // the circuit is open
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Error);
        Assert.DoesNotContain(log.Entries, e => e.Level >= LogLevel.Warning && e.Exception is not null);
        var opened = Assert.Single(log.Entries, e => e.Level == LogLevel.Warning);
        Assert.Contains($"127.0.0.1:{port}", opened.Message);
        Assert.DoesNotContain('\n', opened.Message);
    }

    // A port on 127.0.0.1 that nothing listens on: connections to it are refused at once.
    private static int ClosedPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static IWebhookClient Client(LogRecorder log, params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:FirstBackoff"] = "00:00:00.020",
        }).AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        return new ServiceCollection().AddSingleton<IConfiguration>(configuration)
            .AddLogging(logging => logging.SetMinimumLevel(LogLevel.Information).AddProvider(log))
            .AddNotifications().BuildServiceProvider().GetRequiredService<IWebhookClient>();
    }
}
