using System.Net;
using System.Net.Sockets;
using System.Text;
using Microsoft.Extensions.Options;
using MSaaS.Contracts;

namespace MSaaS.Notifications;

/// <summary>The outcome of delivering one webhook.</summary>
public sealed record WebhookResult(bool Delivered, int Attempts, int? StatusCode, string? Error);

/// <summary>Calls webhooks: body = callback.data verbatim, no redirects, short timeouts, bounded retries with backoff.</summary>
public interface IWebhookClient
{
    Task<WebhookResult> DeliverAsync(Callback callback, CancellationToken cancellationToken);
}

public sealed class WebhookClient : IWebhookClient, IDisposable
{
    private readonly HttpClient _http;
    private readonly WebhookOptions _options;

    public WebhookClient(IOptions<WebhookOptions> options)
    {
        _options = options.Value;
        var handler = new SocketsHttpHandler
        {
            AllowAutoRedirect = false,
            ConnectTimeout = _options.Timeout,
            // The address is checked where the connection is made, after DNS, so a name that resolves to the
            // inside (or is re-pointed there) is refused too.
            ConnectCallback = Connect,
        };
        _http = new HttpClient(handler) { Timeout = _options.Timeout };
    }

    public async Task<WebhookResult> DeliverAsync(Callback callback, CancellationToken cancellationToken)
    {
        if (TargetGuard.Check(callback.Url, _options.AllowPrivateTargets) is { } refusal)
            return new WebhookResult(false, 0, null, refusal);

        int? status = null;
        string? error = null;
        var backoff = _options.FirstBackoff;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, callback.Url)
                {
                    Content = new StringContent(callback.Data ?? "null", Encoding.UTF8, "application/json"),
                };
                using var response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
                status = (int)response.StatusCode;
                if (response.IsSuccessStatusCode) return new WebhookResult(true, attempt, status, null);
                error = $"{status} {response.ReasonPhrase}";
                // A client error other than a timeout or throttling will not change by asking again.
                if (status is >= 300 and < 500 and not 408 and not 429) return new WebhookResult(false, attempt, status, error);
            }
            catch (HttpRequestException e) when (e.InnerException is ForbiddenTargetException forbidden)
            {
                return new WebhookResult(false, attempt, null, forbidden.Message);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
            {
                status = null;
                error = e is TaskCanceledException ? $"no answer within {_options.Timeout.TotalSeconds:F0} s" : e.Message;
            }
            if (attempt < _options.MaxAttempts)
            {
                await Task.Delay(backoff, cancellationToken);
                backoff *= 2;
            }
        }
        return new WebhookResult(false, _options.MaxAttempts, status, error);
    }

    public void Dispose() => _http.Dispose();

    private async ValueTask<Stream> Connect(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        if (!_options.AllowPrivateTargets && addresses.FirstOrDefault(TargetGuard.IsForbidden) is { } forbidden)
            throw new ForbiddenTargetException($"{context.DnsEndPoint.Host} resolves to {forbidden}, a loopback, private, link-local or metadata address");
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private sealed class ForbiddenTargetException(string message) : IOException(message);
}
