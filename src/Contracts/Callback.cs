namespace MSaaS.Contracts;

/// <summary>The client's webhook: POST <see cref="Url"/> with <see cref="Data"/> (JSON text, sent verbatim) as the body.</summary>
public sealed record Callback
{
    public required string Url { get; init; }

    /// <summary>The client's <c>callback.data</c> exactly as it was sent, as JSON text; null for none.</summary>
    public string? Data { get; init; }

    /// <summary>
    /// The id of the client that registered it, whose own secret signs its webhooks (WebhookSecrets); null for an
    /// anonymous one, signed with the service-wide secret. Two clients' callbacks to one URL are two webhooks.
    /// </summary>
    public string? Client { get; init; }
}
