using MassTransit;
using Microsoft.Extensions.Logging;
using MSaaS.Contracts;

namespace MSaaS.Notifications.Consumers;

/// <summary>Calls the client's webhook for a finished song and reports how it went.</summary>
public sealed class DeliverWebhookConsumer(IWebhookClient client, IDeliveryLedger ledger, ILogger<DeliverWebhookConsumer> logger)
    : IConsumer<DeliverWebhook>
{
    public async Task Consume(ConsumeContext<DeliverWebhook> context)
    {
        WebhookResult result;
        if (await ledger.WasDeliveredAsync(context.Message.DeliveryId, context.CancellationToken))
        {
            logger.LogInformation("webhook {DeliveryId} for {SongHash} was delivered before; not calling again", context.Message.DeliveryId, context.Message.SongHash);
            result = new WebhookResult(true, 0, null, null);
        }
        else
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            result = await client.DeliverAsync(context.Message.Callback, context.Message.DeliveryId.ToString(), context.CancellationToken);
            WebhookMetrics.Duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>("outcome", result.Delivered ? "delivered" : "failed"));
            if (result.Delivered) await ledger.MarkDeliveredAsync(context.Message.DeliveryId, context.CancellationToken);
        }
        if (!result.Delivered)
            logger.LogWarning("webhook for {SongHash} not delivered after {Attempts} attempts: {Error}", context.Message.SongHash, result.Attempts, result.Error);
        await context.Publish(new Notified
        {
            SongId = context.Message.SongId, DeliveryId = context.Message.DeliveryId, Url = context.Message.Callback.Url, Delivered = result.Delivered, Attempts = result.Attempts,
            StatusCode = result.StatusCode, Error = result.Error,
        }, context.CancellationToken);
    }
}
