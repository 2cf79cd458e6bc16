using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Http;
using MSaaS.Api.Routes;

namespace MSaaS.Api.Clients;

/// <summary>
/// Each client's request rate on the client routes (Api:ClientRequestsPerMinute): System.Threading.RateLimiting's
/// token bucket, one partition per client id (every request without a key under "both" shares the anonymous one), so
/// that one client's burst never slows another's. A partition left alone is let go by the limiter. Each api replica
/// counts its own requests: with several, a client may make that many at each.
/// </summary>
public sealed class ClientRates : IDisposable
{
    private readonly PartitionedRateLimiter<(string Client, int PerMinute)> _limiter =
        PartitionedRateLimiter.Create<(string Client, int PerMinute), string>(key => RateLimitPartition.GetTokenBucketLimiter(key.Client,
            _ => new TokenBucketRateLimiterOptions
            {
                // One token back every minute / N: N a minute exactly, whatever N is.
                TokenLimit = key.PerMinute, TokensPerPeriod = 1, ReplenishmentPeriod = TimeSpan.FromMinutes(1) / key.PerMinute,
                QueueLimit = 0, AutoReplenishment = true,
            }));

    /// <summary>429 with Retry-After when the client has used up its rate; null when the request may go on.</summary>
    public IResult? Refusal(HttpContext http, ServiceClient client, ApiOptions options)
    {
        if (options.ClientRequestsPerMinute == 0) return null;
        using var lease = _limiter.AttemptAcquire((client.Id, options.ClientRequestsPerMinute));
        if (lease.IsAcquired) return null;
        var wait = lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero ? retryAfter : TimeSpan.FromSeconds(1);
        http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return Reply.Error(429, $"{client.Name} is over its {options.ClientRequestsPerMinute} requests a minute; try again in {Math.Ceiling(wait.TotalSeconds)} s");
    }

    public void Dispose() => _limiter.Dispose();
}
