using System.Collections.Concurrent;
using StackExchange.Redis;

namespace MSaaS.Notifications;

/// <summary>
/// Remembers which webhook deliveries were made, so that a redelivered command (a broker restart between the
/// call and the acknowledgement, say) does not call the client a second time. Entries are kept for
/// <see cref="Keep"/>, far longer than any redelivery takes.
/// </summary>
public interface IDeliveryLedger
{
    public static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    Task<bool> WasDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken);

    Task MarkDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken);
}

/// <summary>The ledger of one process (the embedded mode): at most <see cref="Capacity"/> entries, the oldest dropped first.</summary>
public sealed class InMemoryDeliveryLedger(TimeProvider clock) : IDeliveryLedger
{
    public const int Capacity = 100_000;

    private readonly ConcurrentDictionary<Guid, DateTimeOffset> _delivered = new();

    public Task<bool> WasDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken) =>
        Task.FromResult(_delivered.TryGetValue(deliveryId, out var at) && clock.GetUtcNow() - at < IDeliveryLedger.Keep);

    public Task MarkDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        _delivered[deliveryId] = now;
        if (_delivered.Count > Capacity)
        {
            foreach (var old in _delivered.Where(e => now - e.Value >= IDeliveryLedger.Keep).Select(e => e.Key).ToList()) _delivered.TryRemove(old, out _);
            foreach (var oldest in _delivered.OrderBy(e => e.Value).Take(_delivered.Count - Capacity).Select(e => e.Key).ToList())
                _delivered.TryRemove(oldest, out _);
        }
        return Task.CompletedTask;
    }
}

/// <summary>The ledger in Redis, shared by every notifications process; each entry expires after <see cref="IDeliveryLedger.Keep"/>.</summary>
public sealed class RedisDeliveryLedger(IConnectionMultiplexer redis, string prefix = "msaas:webhook:") : IDeliveryLedger
{
    public Task<bool> WasDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken) =>
        redis.GetDatabase().KeyExistsAsync(prefix + deliveryId).WaitAsync(cancellationToken);

    public Task MarkDeliveredAsync(Guid deliveryId, CancellationToken cancellationToken) =>
        redis.GetDatabase().StringSetAsync(prefix + deliveryId, "1", IDeliveryLedger.Keep).WaitAsync(cancellationToken);
}
