using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;
using MSaaS.Api.Security;

namespace MSaaS.Api.Uploads;

/// <summary>
/// The uploads read at once (each holds buffers and a scratch file): at most <see cref="ApiOptions.MaxUploadsPerClient"/>
/// from one client address (loopback excepted) and <see cref="ApiOptions.MaxUploadsInFlight"/> in all, on System.Threading.RateLimiting's
/// concurrency limiters (partitioned per client, idle partitions let go by the framework). Nothing waits in line: a
/// request that finds no slot is answered at once.
/// </summary>
public sealed class UploadSlots : IDisposable
{
    private readonly PartitionedRateLimiter<IPAddress> _perClient;
    private readonly ConcurrencyLimiter _total;

    public UploadSlots(IOptions<ApiOptions> options)
    {
        var o = options.Value;
        var share = Math.Min(o.MaxUploadsPerClient, o.MaxUploadsInFlight);
        // This machine's own clients (and a request with no address) share only the total.
        _perClient = PartitionedRateLimiter.Create<IPAddress, IPAddress>(client => ClientAddress.Subscriber(client) is var subscriber
                                                                                    && (share == 0 || IPAddress.IsLoopback(subscriber))
            ? RateLimitPartition.GetNoLimiter(IPAddress.Loopback)
            : RateLimitPartition.GetConcurrencyLimiter(subscriber, _ => new ConcurrencyLimiterOptions { PermitLimit = share, QueueLimit = 0 }));
        _total = new ConcurrencyLimiter(new ConcurrencyLimiterOptions { PermitLimit = o.MaxUploadsInFlight, QueueLimit = 0 });
    }

    /// <summary>A slot for one upload from <paramref name="client"/>, to dispose when it is read; or why there is none.</summary>
    public (IDisposable? Slot, string? Refusal) TryTake(IPAddress? client)
    {
        var own = _perClient.AttemptAcquire(client ?? IPAddress.Loopback);
        if (!own.IsAcquired)
        {
            own.Dispose();
            return (null, "this address is already uploading as many songs as one client may at once; try again when one is done");
        }
        var shared = _total.AttemptAcquire();
        if (!shared.IsAcquired)
        {
            own.Dispose();
            shared.Dispose();
            return (null, "too many songs are being uploaded right now; try again in a few seconds");
        }
        return (new Slot(own, shared), null);
    }

    public void Dispose()
    {
        _perClient.Dispose();
        _total.Dispose();
    }

    private sealed class Slot(RateLimitLease own, RateLimitLease shared) : IDisposable
    {
        public void Dispose()
        {
            shared.Dispose();
            own.Dispose();
        }
    }
}
