namespace MSaaS.Contracts;

/// <summary>Command to the notification service: call the client's webhook for a finished song.</summary>
public sealed record DeliverWebhook
{
    public required Guid SongId { get; init; }

    public required string SongHash { get; init; }

    public required Callback Callback { get; init; }

    /// <summary>
    /// Identifies this delivery: a redelivered command carries the same id and is not called twice, the saga asks again
    /// under the same id after a restart, and the webhook request carries it (<c>webhook-id</c>).
    /// </summary>
    public Guid DeliveryId { get; init; } = Guid.NewGuid();
}
