using MassTransit;
using MassTransit.Testing;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Contracts;
using MSaaS.Notifications;
using MSaaS.Notifications.Consumers;
using MSaaS.ServiceDefaults;

namespace MSaaS.Notifications.Tests;

public class DeliverWebhookConsumer_Specs
{
    [Fact]
    public async Task Should_not_call_a_client_twice_when_a_delivery_is_redelivered()
    {
        var client = new CountingClient();
        await using var provider = new ServiceCollection()
            .AddSingleton<IWebhookClient>(client)
            .AddSingleton(TimeProvider.System)
            .AddSingleton<IDeliveryLedger, InMemoryDeliveryLedger>()
            .AddWorkerStop()
            .AddMassTransitTestHarness(x => x.AddConsumer<DeliverWebhookConsumer>())
            .BuildServiceProvider(true);
        var harness = provider.GetRequiredService<ITestHarness>();
        await harness.Start();
        var command = new DeliverWebhook { SongId = Guid.NewGuid(), SongHash = "h", Callback = new Callback { Url = "http://c/", Data = "1" } };

        async Task DeliverAndWait(DeliverWebhook message, int answers)
        {
            await harness.Bus.Publish(message);
            for (var i = 0; i < 200 && harness.Published.Select<Notified>().Count() < answers; i++) await Task.Delay(20);
        }

        await DeliverAndWait(command, 1);
        await DeliverAndWait(command, 2); // the same delivery again, as after a broker restart: not called
        await DeliverAndWait(command with { DeliveryId = Guid.NewGuid() }, 3); // a new delivery: called

        Assert.Equal(3, harness.Published.Select<Notified>().Count());
        Assert.Equal(2, client.Calls);
        Assert.All(harness.Published.Select<Notified>(), n => Assert.True(n.Context.Message.Delivered));
        await harness.Stop();
    }

    private sealed class CountingClient : IWebhookClient
    {
        private int _calls;

        public int Calls => _calls;

        public Task<WebhookResult> DeliverAsync(Callback callback, string webhookId, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _calls);
            return Task.FromResult(new WebhookResult(true, 1, 200, null));
        }
    }
}
