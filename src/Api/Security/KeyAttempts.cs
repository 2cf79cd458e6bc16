using System.Collections.Concurrent;
using System.Net;

namespace MSaaS.Api.Security;

/// <summary>
/// Wrong support keys per client address: after <see cref="Limit"/> within <see cref="Window"/>, the address is
/// refused (429) until the window passes, so the key cannot be guessed at the speed of the network. An IPv6 client
/// counts by its /64, the network one subscriber is given: it could otherwise take a new address for every guess.
/// </summary>
internal sealed class KeyAttempts(TimeProvider clock)
{
    public const int Limit = 10;
    public static readonly TimeSpan Window = TimeSpan.FromMinutes(1);

    private readonly ConcurrentDictionary<IPAddress, (DateTimeOffset Since, int Count)> _failures = new();

    /// <summary>How long <paramref name="client"/> must wait before trying a key again; zero when it may now.</summary>
    public TimeSpan Wait(IPAddress? client)
    {
        if (client is null || !_failures.TryGetValue(ClientAddress.Subscriber(client), out var entry)) return TimeSpan.Zero;
        var left = entry.Since + Window - clock.GetUtcNow();
        return entry.Count >= Limit && left > TimeSpan.Zero ? left : TimeSpan.Zero;
    }

    public void Failed(IPAddress? client)
    {
        if (client is null) return;
        var now = clock.GetUtcNow();
        _failures.AddOrUpdate(ClientAddress.Subscriber(client), (now, 1), (_, e) => now - e.Since >= Window ? (now, 1) : (e.Since, e.Count + 1));
        if (_failures.Count > 10_000) // forget windows that have passed, so that the table stays small
            foreach (var old in _failures.Where(e => now - e.Value.Since >= Window).Select(e => e.Key)) _failures.TryRemove(old, out _);
    }
}
