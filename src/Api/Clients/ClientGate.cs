using System.Globalization;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Api.Routes;
using MSaaS.Api.Security;
using MSaaS.Storage;

namespace MSaaS.Api.Clients;

/// <summary>
/// The endpoint filter on every client route (submit, queue, status, track, live, mix, remove, usage): with
/// Api:Clients "keys" or "both" it finds the caller's client by its key (<c>Authorization: Bearer KEY</c> or
/// <c>X-Api-Key: KEY</c>), else by the web page's sign-in cookie (<see cref="PageSignIn"/>), or refuses with 401, and
/// answers 404, as for a song that does not exist, for a song the caller does not hold. With "anonymous" it does
/// nothing, and no key is looked at.
/// </summary>
public static class ClientGate
{
    /// <summary>The window of wrong client keys per address (its own: wrong client keys never lock out support staff).</summary>
    public const string AttemptsKey = "client-keys";

    private const string CallerItem = "msaas.client";
    private const string SignedInItem = "msaas.client.signed-in";

    /// <summary>The client the request is from; null when Api:Clients is "anonymous" (no client is told apart).</summary>
    public static ServiceClient? Client(HttpContext http) => http.Items[CallerItem] as ServiceClient;

    /// <summary>Whether the request came with a client's key or the page's sign-in (not as "anonymous").</summary>
    public static bool SignedIn(HttpContext http) => http.Items.ContainsKey(SignedInItem);

    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var options = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value;
        if (options.Clients == ClientAccess.Anonymous) return await next(context);

        ServiceClient caller;
        var signedIn = true;
        var registry = http.RequestServices.GetRequiredService<ClientRegistry>();
        if (KeyOf(http.Request) is { } key)
        {
            if (await registry.FindByKeyAsync(key, http.RequestAborted) is not { } client) return WrongKey(http);
            caller = client;
        }
        else if (await PageSignIn.ReadAsync(http, registry) is (true, var byPage))
        {
            // A sign-in that has ended is said, not passed over as anonymous: the page asks for a key again.
            if (byPage is null)
            {
                await PageSignIn.SignOutAsync(http);
                return Unauthorized(http, "this browser's sign-in has ended: its key was replaced or its client removed, or the cookie is not this service's; sign in with a working key",
                    invalid: true);
            }
            caller = byPage;
        }
        else if (options.Clients == ClientAccess.Keys) return Unauthorized(http, $"a client key is required: send Authorization: Bearer KEY or {SupportRoutes.KeyHeader}: KEY");
        else (caller, signedIn) = (options.AnonymousClient(), false);
        http.Items[CallerItem] = caller;
        if (signedIn) http.Items[SignedInItem] = true;
        if (http.RequestServices.GetRequiredService<ClientRates>().Refusal(http, caller, options) is { } tooFast) return tooFast;

        // Another client's song is not there, for this one: the same answer as for a song nobody sent.
        if (http.GetRouteValue("songhash") is string hash && SongHash.IsValid(hash)
            && !await http.RequestServices.GetRequiredService<IClientSongs>().HoldsAsync(caller.Id, hash, http.RequestAborted))
            return Reply.NotFound($"no song {hash}");
        return await next(context);
    }

    internal static string? KeyOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        return request.Headers[SupportRoutes.KeyHeader].ToString() is { Length: > 0 } key ? key.Trim() : null;
    }

    // A key that is no client's working key: 401, and 429 once an address has sent too many in the window. A key is
    // 256 random bits, so this is not about guessing: it keeps one address from making the store look up keys
    // without end.
    private static IResult WrongKey(HttpContext http)
    {
        var attempts = http.RequestServices.GetRequiredKeyedService<KeyAttempts>(AttemptsKey);
        var address = http.Connection.RemoteIpAddress;
        attempts.Failed(address);
        if (attempts.Wait(address) is { TotalSeconds: > 0 } wait)
        {
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Reply.Error(429, $"too many wrong keys from this address; try again in {Math.Ceiling(wait.TotalSeconds)} s");
        }
        return Unauthorized(http, "the key is not valid: unknown, replaced longer ago than its grace period, or its client removed", invalid: true);
    }

    // RFC 6750: a credential that came and does not hold is error="invalid_token"; none at all is a bare challenge. The page
    // tells an ended sign-in from a key never given by it, not by the reason's words.
    private static IResult Unauthorized(HttpContext http, string reason, bool invalid = false)
    {
        http.Response.Headers.WWWAuthenticate = invalid ? "Bearer error=\"invalid_token\"" : "Bearer";
        return Reply.Error(401, reason);
    }
}
