using System.Globalization;
using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Api.Routes;
using MSaaS.Api.Security;
using MSaaS.Storage;

namespace MSaaS.Api.Clients;

/// <summary>Who may use the client routes (Api:Clients): anyone, as the legacy contract has it, or holders of a client's key.</summary>
public enum ClientAccess
{
    /// <summary>No keys; every song is everyone's (the legacy contract; the default).</summary>
    Anonymous,

    /// <summary>Every client route needs a client's key; a client sees only the songs it sent.</summary>
    Keys,

    /// <summary>Keys as above; a request without one counts as the client "anonymous", which sees the songs sent without one.</summary>
    Both,
}

/// <summary>
/// The ASP.NET Core authentication scheme of client keys: <c>Authorization: Bearer KEY</c> or <c>X-Api-Key: KEY</c>.
/// No key: no result; a key that is no working key of a client: failure; else the client's name as the user's.
/// </summary>
public sealed class ClientKeyAuthentication(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder,
    ClientRegistry registry) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ClientKey";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (KeyOf(Request) is not { } key) return AuthenticateResult.NoResult();
        if (await registry.FindByKeyAsync(key, Context.RequestAborted) is not { } client)
            return AuthenticateResult.Fail("the key is no client's working key");
        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Name, client.Name)], SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    private static string? KeyOf(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return authorization["Bearer ".Length..].Trim();
        return request.Headers[SupportRoutes.KeyHeader].ToString() is { Length: > 0 } key ? key.Trim() : null;
    }
}

/// <summary>
/// The endpoint filter on every client route (submit, queue, status, track, live, mix, remove): with Api:Clients
/// "keys" or "both", it names the caller (<see cref="Caller"/>) or refuses with 401, and answers 404, as for a song
/// that does not exist, for a song the caller does not hold. With "anonymous" it does nothing.
/// </summary>
public static class ClientGate
{
    private const string CallerItem = "msaas.client";

    /// <summary>The client the request is from; null when Api:Clients is "anonymous" (no client is told apart).</summary>
    public static string? Caller(HttpContext http) => http.Items[CallerItem] as string;

    public static async ValueTask<object?> FilterAsync(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var access = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.Clients;
        if (access == ClientAccess.Anonymous) return await next(context);

        var attempts = http.RequestServices.GetRequiredService<KeyAttempts>();
        var address = http.Connection.RemoteIpAddress;
        if (attempts.Wait(address) is { TotalSeconds: > 0 } wait)
        {
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Reply.Error(429, $"too many wrong keys from this address; try again in {Math.Ceiling(wait.TotalSeconds)} s");
        }
        var identity = await http.AuthenticateAsync(ClientKeyAuthentication.SchemeName);
        string caller;
        if (identity.Succeeded) caller = identity.Principal.Identity!.Name!;
        else if (identity.Failure is not null)
        {
            attempts.Failed(address);
            return Unauthorized(http, "the key is not valid: unknown, replaced longer ago than its grace period, or its client removed");
        }
        else if (access == ClientAccess.Keys) return Unauthorized(http, $"a client key is required: send Authorization: Bearer KEY or {SupportRoutes.KeyHeader}: KEY");
        else caller = ClientKeys.Anonymous;
        http.Items[CallerItem] = caller;

        // Another client's song is not there, for this one: the same answer as for a song nobody sent.
        if (http.GetRouteValue("songhash") is string hash && SongHash.IsValid(hash)
            && !await http.RequestServices.GetRequiredService<IClientSongs>().HoldsAsync(caller, hash, http.RequestAborted))
            return Reply.NotFound($"no song {hash}");
        return await next(context);
    }

    private static IResult Unauthorized(HttpContext http, string reason)
    {
        http.Response.Headers.WWWAuthenticate = "Bearer";
        return Reply.Error(401, reason);
    }
}
