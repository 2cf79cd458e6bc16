using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Contracts;
using MSaaS.Notifications;
using MSaaS.Testing;
using MSaaS.ServiceDefaults;

namespace MSaaS.Notifications.Tests;

/// <summary>The webhook client as the notifications service registers it: real HTTP to a receiver on 127.0.0.1.</summary>
public sealed class WebhookClient_Specs : IAsyncLifetime
{
    private const string Id = "7f0c1e9a-5a4e-4b8e-9a51-3d6f0c2b1a77";

    private readonly List<IAsyncDisposable> _owned = [];

    // xUnit v2 calls IAsyncLifetime's DisposeAsync; a test class's IAsyncDisposable it leaves alone.
    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (var owned in _owned) await owned.DisposeAsync();
    }

    [Fact]
    public async Task Should_post_the_data_verbatim_and_try_again_after_a_server_error()
    {
        var receiver = await Receiver(call => new HookAnswer(call <= 2 ? 503 : 200));
        var client = Client();

        var result = await client.DeliverAsync(new Callback { Url = receiver.Url + "/done", Data = """{"a": [1, 2]}""" }, Id, default);

        Assert.Equal(new WebhookResult(true, 3, 200, null), result);
        Assert.All(receiver.Bodies, body => Assert.Equal("""{"a": [1, 2]}""", body));
        Assert.Equal(3, receiver.Bodies.Count);
        // Every try names the same delivery, so that the receiver can tell a repeat from a new one.
        Assert.All(receiver.Received, hook => Assert.Equal(Id, hook.Headers["webhook-id"]));
    }

    [Fact]
    public async Task Should_sign_every_try_so_that_a_standard_webhooks_receiver_verifies_it_with_the_secret_and_no_other()
    {
        const string secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; // the Standard Webhooks spec's example secret
        var receiver = await Receiver(call => new HookAnswer(call == 1 ? 503 : 200));
        var client = Client(("Webhooks:SigningSecret", secret));

        var result = await client.DeliverAsync(new Callback { Url = receiver.Url + "/done", Data = """{"song": "é"}""" }, Id, default);

        Assert.True(result.Delivered);
        Assert.Equal(2, receiver.Received.Count);
        foreach (var hook in receiver.Received)
        {
            // As a receiver does: the raw body and the three headers, checked with the client's secret.
            var headers = new Microsoft.AspNetCore.Http.HeaderDictionary(hook.Headers.ToDictionary(h => h.Key, h => new Microsoft.Extensions.Primitives.StringValues(h.Value)));
            new StandardWebhooks.StandardWebhook(secret).Verify(hook.Body, headers);
            Assert.StartsWith("v1,", hook.Headers["webhook-signature"]);
            Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() =>
                new StandardWebhooks.StandardWebhook("whsec_" + Convert.ToBase64String(new byte[32])).Verify(hook.Body, headers));
            Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() =>
                new StandardWebhooks.StandardWebhook(secret).Verify(hook.Body + " ", headers));
        }
    }

    [Fact]
    public async Task Should_sign_a_clients_webhook_with_that_clients_secret_which_no_other_verifies()
    {
        const string service = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        var receiver = await Receiver(_ => new HookAnswer(200));
        var client = Client(("Webhooks:SigningSecret", service));

        await client.DeliverAsync(new Callback { Url = receiver.Url + "/done", Data = "{}", Client = "c0123" }, Id, default);

        var hook = Assert.Single(receiver.Received);
        var headers = new Microsoft.AspNetCore.Http.HeaderDictionary(hook.Headers.ToDictionary(h => h.Key, h => new Microsoft.Extensions.Primitives.StringValues(h.Value)));
        new StandardWebhooks.StandardWebhook(MSaaS.ServiceDefaults.WebhookSecrets.ForClient(service, "c0123")).Verify(hook.Body, headers);
        foreach (var other in new[] { service, MSaaS.ServiceDefaults.WebhookSecrets.ForClient(service, "c0124") })
            Assert.Throws<StandardWebhooks.Diagnostics.WebhookVerificationException>(() => new StandardWebhooks.StandardWebhook(other).Verify(hook.Body, headers));
    }

    [Fact]
    public async Task Should_send_no_signature_without_a_secret()
    {
        var receiver = await Receiver(_ => new HookAnswer(200));

        await Client().DeliverAsync(new Callback { Url = receiver.Url + "/done", Data = "1" }, Id, default);

        Assert.False(receiver.Received.Single().Headers.ContainsKey("webhook-signature"));
    }

    [Theory]
    [InlineData("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")]        // no whsec_ prefix
    [InlineData("whsec_not base64")]
    [InlineData("whsec_c2hvcnQ=")]                          // 5 bytes: too short to be a secret
    public void Should_refuse_to_start_with_a_signing_secret_that_is_not_one(string secret)
    {
        var error = Assert.ThrowsAny<Exception>(() => Client(("Webhooks:SigningSecret", secret)));
        Assert.Contains("SigningSecret", error.Message);
        Assert.DoesNotContain(secret, error.Message); // a secret is never written out
    }

    [Theory]
    [InlineData(400)]
    [InlineData(404)]
    [InlineData(410)]
    public async Task Should_not_ask_again_after_a_client_error(int status)
    {
        var receiver = await Receiver(_ => new HookAnswer(status));

        var result = await Client().DeliverAsync(new Callback { Url = receiver.Url + "/" }, Id, default);

        Assert.Equal((false, 1, status), (result.Delivered, result.Attempts, result.StatusCode));
        Assert.Single(receiver.Bodies);
    }

    [Fact]
    public async Task Should_give_each_try_its_own_timeout()
    {
        var receiver = await Receiver(call => new HookAnswer(200, call == 1 ? TimeSpan.FromSeconds(5) : TimeSpan.Zero));

        // 1.5 s: the first try outlives it, and the second, answered at once, fits it even on a busy CI machine (at 0.3 s
        // a second try there once took a third).
        var result = await Client(("Webhooks:Timeout", "00:00:01.500")).DeliverAsync(new Callback { Url = receiver.Url + "/" }, Id, default);

        Assert.Equal((true, 2), (result.Delivered, result.Attempts));
    }

    [Fact]
    public async Task Should_say_when_no_try_was_answered_in_time()
    {
        var receiver = await Receiver(_ => new HookAnswer(200, TimeSpan.FromSeconds(5)));

        var result = await Client(("Webhooks:Timeout", "00:00:00.200"), ("Webhooks:MaxAttempts", "2"))
            .DeliverAsync(new Callback { Url = receiver.Url + "/" }, Id, default);

        Assert.Equal((false, 2), (result.Delivered, result.Attempts));
        Assert.Equal("no answer within 0.2 s", result.Error);
    }

    [Fact]
    public async Task Should_not_follow_a_redirect()
    {
        var inside = await Receiver(_ => new HookAnswer(200));
        var receiver = await Receiver(_ => new HookAnswer(302, Location: inside.Url + "/admin"));

        var result = await Client().DeliverAsync(new Callback { Url = receiver.Url + "/" }, Id, default);

        Assert.Equal((false, 302), (result.Delivered, result.StatusCode));
        Assert.Empty(inside.Bodies);
    }

    [Fact]
    public async Task Should_refuse_at_connect_time_a_name_that_resolves_to_the_inside()
    {
        var receiver = await Receiver(_ => new HookAnswer(200));
        // The machine's own name passes the check of the URL (it is no IP address and not "localhost"); the address it
        // resolves to (loopback or private, on any machine that runs these tests) does not.
        var name = System.Net.Dns.GetHostName();
        Assert.Contains((await System.Net.Dns.GetHostAddressesAsync(name)), TargetGuard.IsForbidden);
        var url = receiver.Url.Replace("127.0.0.1", name, StringComparison.Ordinal) + "/";

        var result = await Client(("Webhooks:AllowPrivateTargets", "false")).DeliverAsync(new Callback { Url = url }, Id, default);

        Assert.False(result.Delivered);
        Assert.Contains($"{name} resolves to", result.Error);
        Assert.Equal(1, result.Attempts); // refused, not retried
        Assert.Empty(receiver.Bodies);
    }

    [Fact]
    public async Task Should_stop_calling_a_host_that_keeps_failing_but_not_the_others()
    {
        var failing = await Receiver(_ => new HookAnswer(500));
        var healthy = await Receiver(_ => new HookAnswer(200));
        var client = Client(("Webhooks:MaxAttempts", "1"), ("Webhooks:BreakerMinimumCalls", "4"), ("Webhooks:BreakerFailureRatio", "0.5"),
            ("Webhooks:BreakerDuration", "00:01:00"));

        for (var i = 0; i < 4; i++) await client.DeliverAsync(new Callback { Url = failing.Url + "/" }, Id, default);
        var blocked = await client.DeliverAsync(new Callback { Url = failing.Url + "/" }, Id, default);
        var other = await client.DeliverAsync(new Callback { Url = healthy.Url + "/" }, Id, default);

        Assert.Equal(4, failing.Bodies.Count); // the fifth never reached it
        Assert.False(blocked.Delivered);
        Assert.Contains("failed too often", blocked.Error);
        Assert.True(other.Delivered);
    }

    [Theory]
    [InlineData("::ffff:0:127.0.0.1")]   // IPv4-translated (RFC 2765): loopback
    [InlineData("::ffff:0:10.1.2.3")]    // private
    [InlineData("::ffff:0:169.254.169.254")] // the metadata address
    public void Should_judge_an_ipv4_translated_address_as_the_ipv4_address_it_carries(string address)
    {
        // The check every connection passes, after DNS.
        Assert.True(TargetGuard.IsForbidden(System.Net.IPAddress.Parse(address)), address);
        Assert.False(TargetGuard.IsForbidden(System.Net.IPAddress.Parse("::ffff:0:93.184.215.14")), "a public address carried so is as public");
    }

    private async Task<WebhookReceiver> Receiver(Func<int, HookAnswer> answer)
    {
        var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer = answer;
        _owned.Add(receiver);
        return receiver;
    }

    // The client as AddNotifications registers it, private targets allowed (the receivers are on 127.0.0.1) and short
    // backoffs, unless a test says otherwise.
    private IWebhookClient Client(params (string Key, string Value)[] settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Webhooks:AllowPrivateTargets"] = "true",
            ["Webhooks:FirstBackoff"] = "00:00:00.020",
        }).AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build();
        var provider = new ServiceCollection().AddSingleton<IConfiguration>(configuration).AddLogging().AddNotifications().BuildServiceProvider();
        _owned.Add(provider);
        return provider.GetRequiredService<IWebhookClient>();
    }
}
