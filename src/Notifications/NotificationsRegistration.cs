using MassTransit;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Notifications.Consumers;
using MSaaS.ServiceDefaults;
using StackExchange.Redis;

namespace MSaaS.Notifications;

public static class NotificationsRegistration
{
    /// <summary>
    /// Webhook delivery as "Webhooks" says: an IHttpClientFactory client with retries, a timeout per try and a circuit
    /// breaker per host, and the delivery ledger (in Redis when the process has a Redis connection, else in memory).
    /// </summary>
    public static IServiceCollection AddNotifications(this IServiceCollection services)
    {
        services.AddValidatedOptions<WebhookOptions>(WebhookOptions.Section);
        var client = services.AddHttpClient<IWebhookClient, WebhookClient>()
            .ConfigureHttpClient(http => http.Timeout = Timeout.InfiniteTimeSpan) // the pipeline times each try
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookClient.CreateHandler(Configured(sp)));
        // One pipeline, so one circuit, per host (scheme, name and port) of the URLs called.
        client.AddResilienceHandler("webhooks", (pipeline, context) => WebhookClient.ConfigureResilience(pipeline, Configured(context.ServiceProvider),
                context.ServiceProvider.GetRequiredService<ILoggerFactory>().CreateLogger<WebhookClient>(), context.InstanceName))
            .SelectPipelineByAuthority();
        client.AddHttpMessageHandler(() => new WebhookClient.AttemptCounter()); // inside the pipeline: sees every try
        client.AddHttpMessageHandler(sp => new WebhookSigner(sp.GetRequiredService<IOptions<WebhookOptions>>(),
            sp.GetService<TimeProvider>() ?? TimeProvider.System)); // each try signed at its own time
        // A client's webhook being down is the client's affair: DeliverWebhookConsumer logs one warning per delivery that
        // gives up, and WebhookClient one when a host's circuit opens. Polly's line for each failed try and each retry would
        // otherwise log five warnings and an error for it, and an error with the last failure's stack for the circuit.
        services.Configure<Polly.Telemetry.TelemetryOptions>(telemetry => telemetry.SeverityProvider = args => args.Event.EventName switch
        {
            "ExecutionAttempt" or "OnRetry" or "OnTimeout" or "OnCircuitOpened" => Polly.Telemetry.ResilienceEventSeverity.Debug,
            _ => args.Event.Severity,
        });
        services.TryAddSingleton<IDeliveryLedger>(sp => sp.GetService<IConnectionMultiplexer>() is { } redis
            ? new RedisDeliveryLedger(redis)
            : new InMemoryDeliveryLedger(sp.GetService<TimeProvider>() ?? TimeProvider.System));
        return services;
    }

    /// <summary>The consumer of <see cref="Contracts.DeliverWebhook"/>.</summary>
    public static IBusRegistrationConfigurator AddNotificationConsumers(this IBusRegistrationConfigurator bus)
    {
        bus.AddWorkerStop(); // not started while the process stops; the work in hand given a grace period
        bus.AddConsumer<DeliverWebhookConsumer, DeliverWebhookConsumerDefinition>();
        return bus;
    }

    private static WebhookOptions Configured(IServiceProvider services) => services.GetRequiredService<IOptions<WebhookOptions>>().Value;
}
