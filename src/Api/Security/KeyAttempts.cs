using System.Net;
using System.Threading.RateLimiting;

namespace MSaaS.Api.Security;

/// <summary>
/// Wrong support keys per client: <see cref="Limit"/> in each <see cref="Window"/>, then the client is refused (429)
/// until the window is over, so the key cannot be guessed at the speed of the network. System.Threading.RateLimiting's
/// fixed-window limiter, partitioned by <see cref="ClientAddress.Subscriber"/> (an IPv6 client by its /64); a
/// partition left alone is let go by the framework.
/// </summary>
internal sealed class KeyAttempts : IDisposable
{
    public const int Limit = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly PartitionedRateLimiter<IPAddress> _failures = PartitionedRateLimiter.Create<IPAddress, IPAddress>(client =>
        RateLimitPartition.GetFixedWindowLimiter(ClientAddress.Subscriber(client),
            _ => new FixedWindowRateLimiterOptions { PermitLimit = Limit, Window = Window, QueueLimit = 0, AutoReplenishment = true }));

    /// <summary>How long <paramref name="client"/> must wait before trying a key again; zero when it may now.</summary>
    public TimeSpan Wait(IPAddress? client)
    {
        if (client is null) return TimeSpan.Zero;
        // Zero permits: asks whether any is left, taking none.
        using var lease = _failures.AttemptAcquire(client, permitCount: 0);
        return lease.IsAcquired ? TimeSpan.Zero
            : lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) && retryAfter > TimeSpan.Zero ? retryAfter : Window;
    }

    public void Failed(IPAddress? client)
    {
        if (client is not null) _failures.AttemptAcquire(client).Dispose();
    }

    public void Dispose() => _failures.Dispose();
}
