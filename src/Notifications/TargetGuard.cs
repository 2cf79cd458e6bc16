using System.Net;
using System.Net.Sockets;

namespace MSaaS.Notifications;

/// <summary>Which callback URLs and addresses MSaaS will not call, so that clients cannot aim it at the inside.</summary>
public static class TargetGuard
{
    /// <summary>Why <paramref name="url"/> is not an acceptable callback, or null when it is (addresses are checked again at connect time).</summary>
    public static string? Check(string? url, bool allowPrivate)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || string.IsNullOrEmpty(uri.Host))
            return "callback.url must be an absolute http or https URL";
        if (allowPrivate) return null;
        if (uri.Host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || uri.Host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase)
            || uri.Host.Equals("metadata.google.internal", StringComparison.OrdinalIgnoreCase))
            return $"callback.url {uri.Host} is an internal host";
        if (IPAddress.TryParse(uri.Host.Trim('[', ']'), out var address) && IsForbidden(address))
            return $"callback.url {address} is a loopback, private, link-local or metadata address";
        return null;
    }

    /// <summary>Loopback, private (RFC 1918, unique local), link-local (cloud metadata included), carrier NAT, unspecified, multicast.</summary>
    public static bool IsForbidden(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6) address = address.MapToIPv4();
        if (IPAddress.IsLoopback(address) || address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any)) return true;
        if (address.AddressFamily == AddressFamily.InterNetwork)
        {
            var b = address.GetAddressBytes();
            return b[0] == 10 || b[0] == 0 || b[0] >= 224                      // private, "this network", multicast and reserved
                   || (b[0] == 172 && b[1] >= 16 && b[1] <= 31)                  // private
                   || (b[0] == 192 && b[1] == 168)                              // private
                   || (b[0] == 169 && b[1] == 254)                              // link-local, 169.254.169.254 metadata
                   || (b[0] == 100 && b[1] >= 64 && b[1] <= 127);               // carrier-grade NAT
        }
        return address.IsIPv6LinkLocal || address.IsIPv6SiteLocal || address.IsIPv6Multicast || address.IsIPv6UniqueLocal;
    }
}
