using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace MSaaS.Api.Routes;

/// <summary>The live streams served at once, at most <see cref="ApiOptions.MaxLiveListeners"/>; none waits for a place.</summary>
public sealed class LiveListeners(IOptions<ApiOptions> options) : IDisposable
{
    private readonly ConcurrencyLimiter _limiter = new(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.MaxLiveListeners, QueueLimit = 0,
    });

    /// <summary>A place for one stream, held until disposed; not acquired when every place is taken.</summary>
    public RateLimitLease TryTake() => _limiter.AttemptAcquire();

    /// <summary>Places free now.</summary>
    public long Free => _limiter.GetStatistics()?.CurrentAvailablePermits ?? 0;

    public void Dispose() => _limiter.Dispose();
}
