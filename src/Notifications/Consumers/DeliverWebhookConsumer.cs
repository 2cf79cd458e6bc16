using MassTransit;
using Microsoft.Extensions.Logging;
using MSaaS.Contracts;
using MSaaS.ServiceDefaults;

namespace MSaaS.Notifications.Consumers;

/// <summary>Calls the client's webhook for a finished song and reports how it went.</summary>
public sealed class DeliverWebhookConsumer(IWebhookClient client, IDeliveryLedger ledger, WorkerStop stop, ILogger<DeliverWebhookConsumer> logger)
    : IConsumer<DeliverWebhook>
{
    // Not started once the process is stopping; cancelled when the stop's grace period is over (WorkerStop).
    public Task Consume(ConsumeContext<DeliverWebhook> context) =>
        stop.RunAsync(context, $"the webhook of {context.Message.SongHash}", cancellationToken => Deliver(context, cancellationToken));

    private async Task Deliver(ConsumeContext<DeliverWebhook> context, CancellationToken cancellationToken)
    {
        WebhookResult result;
        if (await ledger.WasDeliveredAsync(context.Message.DeliveryId, cancellationToken))
        {
            logger.LogInformation("webhook {DeliveryId} for {SongHash} was delivered before; not calling again", context.Message.DeliveryId, context.Message.SongHash);
            result = new WebhookResult(true, 0, null, null);
        }
        else
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            result = await client.DeliverAsync(context.Message.Callback, context.Message.DeliveryId.ToString(), cancellationToken);
            WebhookMetrics.Duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("outcome", result.Delivered ? "delivered" : "failed"));
            if (result.Delivered) await ledger.MarkDeliveredAsync(context.Message.DeliveryId, cancellationToken);
        }
        if (!result.Delivered)
            logger.LogWarning("webhook for {SongHash} not delivered after {Attempts} attempts: {Error}", context.Message.SongHash, result.Attempts, result.Error);
        await context.Publish(new Notified
        {
            SongId = context.Message.SongId, DeliveryId = context.Message.DeliveryId, Url = context.Message.Callback.Url, Delivered = result.Delivered, Attempts = result.Attempts,
            StatusCode = result.StatusCode, Error = result.Error,
        }, cancellationToken);
    }
}
