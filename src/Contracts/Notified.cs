namespace MSaaS.Contracts;

/// <summary>The webhook was called: delivered, or given up on after its bounded retries.</summary>
public sealed record Notified
{
    public required Guid SongId { get; init; }

    /// <summary>The delivery answered (<see cref="DeliverWebhook.DeliveryId"/>); null from a notifications service before it was sent.</summary>
    public Guid? DeliveryId { get; init; }

    /// <summary>The webhook that was called.</summary>
    public string? Url { get; init; }

    public required bool Delivered { get; init; }

    public int Attempts { get; init; }

    /// <summary>HTTP status of the last attempt, when one came back.</summary>
    public int? StatusCode { get; init; }

    public string? Error { get; init; }
}
