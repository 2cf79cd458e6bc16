using MassTransit;

namespace MSaaS.Notifications.Consumers;

public sealed class DeliverWebhookConsumerDefinition : ConsumerDefinition<DeliverWebhookConsumer>
{
    public DeliverWebhookConsumerDefinition()
    {
        // Webhooks wait on other people's servers: many at once, each bounded by its own timeout and retries.
        ConcurrentMessageLimit = 32;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<DeliverWebhookConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 32;
        // The client already retries the call itself; a retry here would only repeat it. A lost bus connection
        // while publishing the outcome is worth one more go.
        endpointConfigurator.UseMessageRetry(r => r.Interval(1, TimeSpan.FromSeconds(5)));
    }
}
