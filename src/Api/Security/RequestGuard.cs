using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using MSaaS.Api.Routes;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Security;

/// <summary>
/// What a web browser may not do to this service on behalf of a page from elsewhere:
/// <list type="bullet">
/// <item>reach it under a name it does not serve (<see cref="ApiOptions.AllowedHosts"/>): a page whose own name
/// resolves to 127.0.0.1 (DNS rebinding) cannot talk to a service on one's own machine;</item>
/// <item>change anything cross-origin: a request that changes state (any method but GET, HEAD and OPTIONS, and the
/// legacy GET that removes stems) is refused when it carries an Origin that is not this service's own, or when
/// the browser says it comes from another site (Sec-Fetch-Site). Legacy clients send neither header and are served
/// as before; the service's own page sends its own origin.</item>
/// </list>
/// </summary>
internal sealed class RequestGuard(RequestDelegate next, IOptionsMonitor<ApiOptions> options)
{
    public Task InvokeAsync(HttpContext context)
    {
        var request = context.Request;
        // Probes and scrapes come by the pod's address, which no list of names can know: an address is served there too.
        // A page that rebinds its own name to the service still sends that name, and is refused.
        if (!HostAllowed(request.Host, options.CurrentValue.AllowedHosts) &&
            !(MsaasTelemetry.IsOperational(request.Path) && IsAddress(request.Host)))
            return Reply.WriteAsync(context, StatusCodes.Status400BadRequest, "this service is not served under that host name");
        if (ChangesState(request) && CrossOrigin(request) is { } why)
            return Reply.WriteAsync(context, StatusCodes.Status403Forbidden, $"a request from another site may not change anything here ({why})");
        return next(context);
    }

    internal static bool HostAllowed(HostString host, IReadOnlyCollection<string> allowed) =>
        allowed.Count == 0 || allowed.Contains("*") ||
        (host.HasValue && allowed.Any(name => string.Equals(name, host.Host, StringComparison.OrdinalIgnoreCase)));

    // A Host that is an IP address (with its port, IPv6 in brackets), not a name.
    private static bool IsAddress(HostString host) =>
        host.HasValue && System.Net.IPAddress.TryParse(host.Host.Trim('[', ']'), out _) && !host.Host.Contains('%');

    private static bool ChangesState(HttpRequest request) =>
        !(HttpMethods.IsGet(request.Method) || HttpMethods.IsHead(request.Method) || HttpMethods.IsOptions(request.Method)) ||
        request.Path.StartsWithSegments("/apiv1/remove", StringComparison.OrdinalIgnoreCase);

    // Why the request comes from a page of another origin, or null when it does not.
    private static string? CrossOrigin(HttpRequest request)
    {
        var site = request.Headers["Sec-Fetch-Site"].ToString();
        if (site is "cross-site" or "same-site") return $"Sec-Fetch-Site: {site}";
        var origin = request.Headers.Origin.ToString();
        if (origin.Length == 0) return null;
        var own = $"{request.Scheme}://{request.Host.Value}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase) ? null : $"Origin: {(origin.Length > 100 ? origin[..100] : origin)}";
    }
}
