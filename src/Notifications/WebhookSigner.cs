using System.Globalization;
using Microsoft.Extensions.Options;
using MSaaS.ServiceDefaults;
using StandardWebhooks;

namespace MSaaS.Notifications;

/// <summary>
/// Signs every try of a webhook the Standard Webhooks way when <see cref="WebhookOptions.SigningSecret"/> is set:
/// <c>webhook-timestamp</c> (the try's time, in Unix seconds) and <c>webhook-signature</c> (<c>v1,</c> and the base64
/// HMAC-SHA256 of <c>id.timestamp.body</c> under the secret) beside the delivery's <c>webhook-id</c>, which every try
/// keeps. Inside the retry pipeline, so that a retry after a long backoff still carries a fresh timestamp that a
/// receiver's tolerance (5 minutes in the standard's libraries) accepts. A client's webhook is signed with that
/// client's own secret (<see cref="WebhookSecrets.ForClient"/>, named by <see cref="ClientKey"/>), an anonymous one
/// with the service's.
/// </summary>
internal sealed class WebhookSigner(IOptions<WebhookOptions> options, TimeProvider clock) : DelegatingHandler
{
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>The id of the client whose webhook the request is (Callback.Client); unset for an anonymous one.</summary>
    public static readonly HttpRequestOptionsKey<string> ClientKey = new("msaas.webhook-client");

    private readonly string? _secret = options.Value.SigningSecret is { Length: > 0 } secret ? secret : null;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, StandardWebhook> _signers = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (_secret is not null && request.Headers.TryGetValues(WebhookClient.IdHeader, out var ids))
        {
            var client = request.Options.TryGetValue(ClientKey, out var id) ? id : "";
            var webhook = _signers.GetOrAdd(client, c => new StandardWebhook(c.Length == 0 ? _secret : WebhookSecrets.ForClient(_secret, c)));
            var body = request.Content is null ? "" : await request.Content.ReadAsStringAsync(cancellationToken);
            var now = clock.GetUtcNow();
            request.Headers.Remove(TimestampHeader);
            request.Headers.Remove(SignatureHeader);
            request.Headers.Add(TimestampHeader, now.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture));
            request.Headers.Add(SignatureHeader, webhook.Sign(ids.Single(), now, body));
        }
        return await base.SendAsync(request, cancellationToken);
    }
}
