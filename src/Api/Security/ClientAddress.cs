using System.Net;
using System.Net.Sockets;

namespace MSaaS.Api.Security;

/// <summary>How the service tells clients apart by address, for what it counts or limits per client.</summary>
internal static class ClientAddress
{
    /// <summary>
    /// An IPv4 address (mapped into IPv6 or not) as it is; an IPv6 one as its /64, the network one subscriber is given:
    /// a client could otherwise take a new address for every request.
    /// </summary>
    public static IPAddress Subscriber(IPAddress client)
    {
        if (client.IsIPv4MappedToIPv6) return client.MapToIPv4();
        if (client.AddressFamily != AddressFamily.InterNetworkV6) return client;
        var bytes = client.GetAddressBytes();
        Array.Clear(bytes, 8, 8);
        return new IPAddress(bytes);
    }
}
