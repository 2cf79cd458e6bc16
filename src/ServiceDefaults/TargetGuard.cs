using System.Net;
using System.Net.Sockets;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Which callback URLs and addresses MSaaS will not call, so that clients cannot aim it at the inside: loopback,
/// private, link-local (cloud metadata included), carrier NAT, reserved and multicast addresses, under any
/// spelling (a trailing dot, a name that resolves there, an IPv4 address inside an IPv6 one).
/// </summary>
public static class TargetGuard
{
    private static readonly TimeSpan ResolveTimeout = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Why <paramref name="url"/> is not an acceptable callback, or null: the URL itself (scheme, host, an address
    /// written in it). Names are resolved by <see cref="CheckAsync"/>, and every connection is checked again.
    /// </summary>
    public static string? Check(string? url, bool allowPrivate)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            return "callback.url must be an absolute http or https URL";
        if (uri.Host.Any(c => c > 127))
            return "callback.url must name its host in ASCII (xn-- for an international name)";
        if (allowPrivate) return null;
        var host = HostOf(uri);
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || host.Equals("metadata.google.internal", StringComparison.OrdinalIgnoreCase))
            return $"callback.url {host} is an internal host";
        if (IPAddress.TryParse(host, out var address) && IsForbidden(address))
            return $"callback.url {address} is a loopback, private, link-local or metadata address";
        return null;
    }

    /// <summary>
    /// <see cref="Check"/>, then the host's name resolved as a delivery would resolve it: a name that resolves to an
    /// address <see cref="IsForbidden"/> (from DNS or /etc/hosts) is refused now rather than at delivery. A name that
    /// does not resolve now is accepted: a delivery would fail to reach it, not refuse it, and DNS may answer later.
    /// </summary>
    public static async Task<string?> CheckAsync(string? url, bool allowPrivate, CancellationToken cancellationToken)
    {
        if (Check(url, allowPrivate) is { } refusal) return refusal;
        if (allowPrivate) return null;
        var host = HostOf(new Uri(url!));
        if (IPAddress.TryParse(host, out _)) return null; // checked above
        IPAddress[] addresses;
        try
        {
            addresses = await Dns.GetHostAddressesAsync(host, cancellationToken).WaitAsync(ResolveTimeout, cancellationToken);
        }
        catch (Exception e) when (e is SocketException or TimeoutException or ArgumentException)
        {
            return null;
        }
        return addresses.FirstOrDefault(IsForbidden) is { } forbidden
            ? $"callback.url {host} resolves to {forbidden}, a loopback, private, link-local or metadata address"
            : null;
    }

    /// <summary>
    /// Loopback, private (RFC 1918, unique local), link-local (cloud metadata included), carrier NAT, "this network",
    /// IETF and benchmarking ranges, unspecified, multicast and reserved; an IPv4 address carried in IPv6 (mapped,
    /// translated, compatible, NAT64, 6to4) is judged as that IPv4 address.
    /// </summary>
    public static bool IsForbidden(IPAddress address)
    {
        address = Embedded(address) ?? address;
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] is 0 or 10 or 127 || b[0] >= 224                      // "this network", private, loopback, multicast and reserved
                   || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)                  // private
                   || (b[0] == 192 && b[1] == 168)                              // private
                   || (b[0] == 169 && b[1] == 254)                              // link-local, 169.254.169.254 metadata
                   || (b[0] == 100 && b[1] >= 64 && b[1] <= 127)                // carrier-grade NAT
                   || (b[0] == 192 && b[1] == 0 && b[2] == 0)                   // IETF protocol assignments
                   || (b[0] == 198 && b[1] is 18 or 19);                        // benchmarking
        }
        var v6 = address.GetAddressBytes();
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal
               || (v6[0] == 0x20 && v6[1] == 0x01 && v6[2] == 0x0d && v6[3] == 0xb8); // documentation
    }

    // The IPv4 address an IPv6 one carries: ::ffff:a.b.c.d (mapped), ::ffff:0:a.b.c.d (translated), ::a.b.c.d (compatible, deprecated),
    // 64:ff9b::a.b.c.d (NAT64) and 2002:aabb:ccdd:: (6to4); null for any other.
    private static IPAddress? Embedded(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6) return null;
        if (address.IsIPv4MappedToIPv6) return address.MapToIPv4();
        var b = address.GetAddressBytes();
        if (b.AsSpan(0, 8).IndexOfAnyExcept((byte)0) < 0 && b[8] == 0xff && b[9] == 0xff && b[10] == 0 && b[11] == 0)
            return new IPAddress(b.AsSpan(12, 4)); // ::ffff:0:a.b.c.d, IPv4-translated (RFC 2765)
        if (b.AsSpan(0, 12).IndexOfAnyExcept((byte)0) < 0 && !IPAddress.IsLoopback(address) && !address.Equals(IPAddress.IPv6Any))
            return new IPAddress(b.AsSpan(12, 4));
        if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b.AsSpan(4, 8).IndexOfAnyExcept((byte)0) < 0)
            return new IPAddress(b.AsSpan(12, 4));
        if (b[0] == 0x20 && b[1] == 0x02) return new IPAddress(b.AsSpan(2, 4));
        return null;
    }

    // The host as a resolver sees it: without IPv6 brackets and without the root's trailing dot.
    private static string HostOf(Uri uri) => uri.Host.Trim('[', ']').TrimEnd('.');
}
