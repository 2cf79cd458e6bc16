using System.Collections.Concurrent;
using StackExchange.Redis;

namespace MSaaS.Notifications;

/// <summary>
/// Remembers which webhook deliveries were made, so that a redelivered command (a broker restart between the
/// call and the acknowledgement, say) does not call the client a second time.
/// </summary>
public interface IDeliveryLedger
{
    Task<bool> WasDeliveredAsync(Guid deliveryId);

    Task MarkDeliveredAsync(Guid deliveryId);
}

public sealed class InMemoryDeliveryLedger : IDeliveryLedger
{
    private readonly ConcurrentDictionary<Guid, bool> _delivered = new();

    public Task<bool> WasDeliveredAsync(Guid deliveryId) => Task.FromResult(_delivered.ContainsKey(deliveryId));

    public Task MarkDeliveredAsync(Guid deliveryId)
    {
        _delivered[deliveryId] = true;
        return Task.CompletedTask;
    }
}

/// <summary>The ledger in Redis, shared by every notifications process; entries expire after a week.</summary>
public sealed class RedisDeliveryLedger(IConnectionMultiplexer redis, string prefix = "msaas:webhook:") : IDeliveryLedger
{
    private static readonly TimeSpan Keep = TimeSpan.FromDays(7);

    public Task<bool> WasDeliveredAsync(Guid deliveryId) => redis.GetDatabase().KeyExistsAsync(prefix + deliveryId);

    public Task MarkDeliveredAsync(Guid deliveryId) => redis.GetDatabase().StringSetAsync(prefix + deliveryId, "1", Keep);
}
