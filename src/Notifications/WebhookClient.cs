using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Text;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Contracts;
using Polly;
using Polly.CircuitBreaker;
using Polly.Timeout;
using MSaaS.ServiceDefaults;

namespace MSaaS.Notifications;

/// <summary>The outcome of delivering one webhook.</summary>
public sealed record WebhookResult(bool Delivered, int Attempts, int? StatusCode, string? Error);

/// <summary>Calls webhooks: body = callback.data verbatim, no redirects, short timeouts, bounded retries with backoff.</summary>
public interface IWebhookClient
{
    /// <summary>
    /// POSTs the callback's data to its URL, with <paramref name="webhookId"/> as the <c>webhook-id</c> header (the
    /// Standard Webhooks name): the same on every try and every time the same delivery is sent again, so that the
    /// receiver can tell a repeat from a new one.
    /// </summary>
    Task<WebhookResult> DeliverAsync(Callback callback, string webhookId, CancellationToken cancellationToken);
}

/// <summary>
/// A typed client of IHttpClientFactory (see <see cref="NotificationsRegistration"/>): retries with jittered exponential
/// backoff, a timeout per try and a circuit breaker per host come from its resilience pipeline; the address of every
/// connection is checked after DNS (<see cref="ConnectCallback"/>), so no name, redirect or re-pointed record reaches
/// the inside.
/// </summary>
public sealed class WebhookClient(HttpClient http, IOptions<WebhookOptions> options) : IWebhookClient
{
    private static readonly HttpRequestOptionsKey<StrongBox<int>> AttemptsKey = new("msaas.webhook.attempts");

    /// <summary>The header that names the delivery.</summary>
    public const string IdHeader = "webhook-id";

    private readonly WebhookOptions _options = options.Value;

    public async Task<WebhookResult> DeliverAsync(Callback callback, string webhookId, CancellationToken cancellationToken)
    {
        if (TargetGuard.Check(callback.Url, _options.AllowPrivateTargets) is { } refusal)
            return new WebhookResult(false, 0, null, refusal);

        var attempts = new StrongBox<int>();
        using var request = new HttpRequestMessage(HttpMethod.Post, callback.Url)
        {
            Content = new StringContent(callback.Data ?? "null", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add(IdHeader, webhookId);
        request.Options.Set(AttemptsKey, attempts);
        if (callback.Client is { } client) request.Options.Set(WebhookSigner.ClientKey, client);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            var status = (int)response.StatusCode;
            return response.IsSuccessStatusCode
                ? new WebhookResult(true, attempts.Value, status, null)
                : new WebhookResult(false, attempts.Value, status, $"{status} {response.ReasonPhrase}");
        }
        catch (HttpRequestException e) when (e.InnerException is ForbiddenTargetException forbidden)
        {
            return new WebhookResult(false, attempts.Value, null, forbidden.Message);
        }
        catch (TimeoutRejectedException)
        {
            return new WebhookResult(false, attempts.Value, null, $"no answer within {_options.Timeout.TotalSeconds:0.###} s");
        }
        catch (BrokenCircuitException)
        {
            return new WebhookResult(false, attempts.Value, null,
                $"{request.RequestUri!.Authority} failed too often; its webhooks are not tried for up to {_options.BreakerDuration.TotalSeconds:0} s");
        }
        catch (HttpRequestException e)
        {
            return new WebhookResult(false, attempts.Value, null, e.Message);
        }
    }

    /// <summary>
    /// The socket handler: no redirects, connect timeout, the address check after DNS, and no trace context: the
    /// client learns nothing of the service's own (no traceparent, tracestate or baggage, which would carry
    /// MassTransit's conversation id).
    /// </summary>
    internal static SocketsHttpHandler CreateHandler(WebhookOptions options) => new()
    {
        AllowAutoRedirect = false,
        ActivityHeadersPropagator = null,
        UseProxy = false,
        ConnectTimeout = options.Timeout,
        PooledConnectionLifetime = TimeSpan.FromMinutes(5),
        ConnectCallback = (context, cancellationToken) => ConnectCallback(context, options.AllowPrivateTargets, cancellationToken),
    };

    /// <summary>Retries (transient failures only), the circuit of the host, then the timeout of each try, outermost first.</summary>
    internal static void ConfigureResilience(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, WebhookOptions options, ILogger logger, string host)
    {
        if (options.MaxAttempts > 1)
        {
            pipeline.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.FirstBackoff,
                // A client's Retry-After could hold a worker for hours; the backoff stays ours.
                ShouldRetryAfterHeader = false,
                ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            });
        }
        pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
        {
            FailureRatio = options.BreakerFailureRatio,
            MinimumThroughput = options.BreakerMinimumCalls,
            SamplingDuration = options.BreakerSamplingWindow,
            BreakDuration = options.BreakerDuration,
            ShouldHandle = args => ValueTask.FromResult(IsTransient(args.Outcome)),
            // A client's server that keeps failing is the client's affair: one line, without the last failure's stack.
            OnOpened = args =>
            {
                logger.LogWarning("webhooks to {Host} failed too often ({LastFailure}): not tried for {Seconds:0} s",
                    host, args.Outcome.Exception?.Message ?? $"{(int?)args.Outcome.Result?.StatusCode} {args.Outcome.Result?.ReasonPhrase}",
                    args.BreakDuration.TotalSeconds);
                return ValueTask.CompletedTask;
            },
        });
        pipeline.AddTimeout(options.Timeout);
    }

    // Worth asking again: the server failed or throttled, or could not be reached in time. A client error, a refused
    // address or an open circuit will not change by asking again.
    private static bool IsTransient(Outcome<HttpResponseMessage> outcome) => outcome switch
    {
        { Exception: HttpRequestException { InnerException: ForbiddenTargetException } } => false,
        { Exception: HttpRequestException or TimeoutRejectedException } => true,
        { Result: { } response } => (int)response.StatusCode is >= 500 or 408 or 429,
        _ => false,
    };

    private static async ValueTask<Stream> ConnectCallback(SocketsHttpConnectionContext context, bool allowPrivate, CancellationToken cancellationToken)
    {
        var addresses = await Dns.GetHostAddressesAsync(context.DnsEndPoint.Host, cancellationToken);
        if (!allowPrivate && addresses.FirstOrDefault(TargetGuard.IsForbidden) is { } forbidden)
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

    /// <summary>
    /// Counts the tries of one request, and each in the metrics by outcome; it sits inside the resilience handler, so
    /// each try passes it once.
    /// </summary>
    internal sealed class AttemptCounter : DelegatingHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Options.TryGetValue(AttemptsKey, out var attempts)) attempts.Value++;
            int? status = null;
            try
            {
                var response = await base.SendAsync(request, cancellationToken);
                status = (int)response.StatusCode;
                return response;
            }
            finally
            {
                WebhookMetrics.Attempts.Add(WebhookMetrics.Outcome(status));
            }
        }
    }

    private sealed class ForbiddenTargetException(string message) : IOException(message);
}
