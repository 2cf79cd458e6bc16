using System.Security.Claims;
using System.Xml.Linq;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.Cookies;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.DataProtection.KeyManagement;
using Microsoft.AspNetCore.DataProtection.Repositories;
using Microsoft.AspNetCore.DataProtection.StackExchangeRedis;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using MSaaS.Api.Routes;
using StackExchange.Redis;

namespace MSaaS.Api.Clients;

/// <summary>
/// The web page's sign-in: the page sends a client's key once (POST /apiv1/session with the key in the header) and gets
/// back a cookie that stands for that key on the client routes. A browser sends the cookie where it cannot send a
/// header: the status events (EventSource), the stems' download links, the live streams. The cookie is ASP.NET Core's
/// cookie authentication: encrypted and signed with Data Protection keys that every api replica shares (Redis in the
/// distributed mode, the clients' directory embedded), HttpOnly (no script on the page can read it), SameSite=Strict (no
/// other site's page can make the browser send it) and for /apiv1 only. It holds the client's id and the key itself, and
/// is checked as a key in a header is, at each request: a client removed, or a key past its grace period, ends every
/// sign-in made with it at once. The key, not its hash, so that whoever can read the clients' store and the Data
/// Protection keys beside it still cannot make a cookie: the store holds only hashes.
/// </summary>
public static class PageSignIn
{
    public const string Scheme = "msaas-page";

    /// <summary>The cookie's name (and the first of its chunks, should it ever need several).</summary>
    public const string CookieName = "msaas-client";

    private const string ClientClaim = "msaas:client";
    private const string KeyClaim = "msaas:key";

    /// <summary>A sign-in as the page's session route shows it: who may use the service, and who this browser is.</summary>
    /// <param name="Access">Api:Clients: "anonymous", "keys" or "both".</param>
    /// <param name="Client">The client's name; "anonymous" under "both" without a sign-in; absent under "anonymous".</param>
    /// <param name="SignedIn">Whether the request came with a client's key or a sign-in.</param>
    public sealed record SessionView(string Access, string? Client, bool SignedIn);

    public static IServiceCollection AddPageSignIn(this IServiceCollection services)
    {
        services.AddDataProtection().SetApplicationName("msaas");
        // Under "anonymous" no cookie is made or read: the key ring Data Protection makes at start stays in memory.
        services.AddOptions<KeyManagementOptions>().Configure<IServiceProvider, IOptions<ApiOptions>>((keys, sp, api) => keys.XmlRepository =
            api.Value.Clients == ClientAccess.Anonymous ? new MemoryXmlRepository()
            : sp.GetService<IConnectionMultiplexer>() is { } redis ? new RedisXmlRepository(() => redis.GetDatabase(), "msaas:sign-in-keys")
            : new FileSystemXmlRepository(new DirectoryInfo(Path.Combine(ClientRegistration.Directory(sp), "sign-in-keys")),
                sp.GetRequiredService<ILoggerFactory>()));
        // The keys are kept as the clients are, in Redis or the data directory, without a second layer of encryption: a
        // warning saying so at each new key (every 90 days) would only alarm. docs/security.md says what that means.
        services.Configure<LoggerFilterOptions>(logs => logs.AddFilter(typeof(XmlKeyManager).FullName, LogLevel.Error));
        // Not the default scheme, as ASP.NET Core makes a process's only scheme: the authentication middleware it adds would
        // read the cookie on every request. Only ClientGate reads it, on the client routes and where clients are told apart.
        AppContext.SetSwitch("Microsoft.AspNetCore.Authentication.SuppressAutoDefaultScheme", true);
        services.AddAuthentication().AddCookie(Scheme, cookie =>
        {
            cookie.Cookie.Name = CookieName;
            cookie.Cookie.Path = "/apiv1";
            cookie.Cookie.HttpOnly = true;
            cookie.Cookie.SameSite = Microsoft.AspNetCore.Http.SameSiteMode.Strict;
            cookie.Cookie.SecurePolicy = CookieSecurePolicy.SameAsRequest; // Secure behind HTTPS; plain HTTP on one's own machine still works
            cookie.SlidingExpiration = true;
            // The client routes answer 401 JSON themselves (ClientGate); the handler never redirects to a login page.
            cookie.Events.OnRedirectToLogin = context => Refuse(context.Response, 401);
            cookie.Events.OnRedirectToAccessDenied = context => Refuse(context.Response, 403);
        });
        services.AddOptions<CookieAuthenticationOptions>(Scheme)
            .Configure<IOptions<ApiOptions>>((cookie, api) => cookie.ExpireTimeSpan = api.Value.SignInLifetime);
        return services;
    }

    /// <summary>
    /// The client the request's sign-in cookie stands for; <c>Present</c> false when it has none. A cookie that is not
    /// this service's, has expired, or whose key no longer works gives <c>Client</c> null.
    /// </summary>
    internal static async Task<(bool Present, ServiceClient? Client)> ReadAsync(HttpContext http, ClientRegistry clients)
    {
        if (!http.Request.Cookies.ContainsKey(CookieName)) return (false, null);
        // Two cookies of this name: one was set by another site of the same domain (a sibling subdomain may set a cookie
        // for a longer path), to sign this browser in as a client of its choosing. Neither is taken.
        if (CookieHeaderValue.TryParseList([.. http.Request.Headers.Cookie.OfType<string>()], out var cookies) && cookies.Count(c => c.Name == CookieName) > 1)
            return (true, null);
        var result = await http.AuthenticateAsync(Scheme);
        if (!result.Succeeded || result.Principal.FindFirstValue(ClientClaim) is not { } id || result.Principal.FindFirstValue(KeyClaim) is not { } key)
            return (true, null);
        var client = await clients.FindByKeyAsync(key, http.RequestAborted);
        return (true, client?.Id == id ? client : null);
    }

    /// <summary>Ends the request's sign-in: the browser is told to drop the cookie.</summary>
    internal static Task SignOutAsync(HttpContext http) => http.SignOutAsync(Scheme);

    /// <summary>GET, POST and DELETE /apiv1/session: a client route (behind <see cref="ClientGate"/>).</summary>
    public static IEndpointRouteBuilder MapSessionRoutes(this IEndpointRouteBuilder clients)
    {
        clients.MapGet("/apiv1/session", (HttpContext http, IOptions<ApiOptions> api) => Results.Ok(View(http, api.Value)))
            .WithSummary("Who may use the service (Api:Clients) and which client the caller is; 401 where a key is needed and none came")
            .Produces<SessionView>().Produces<ErrorReply>(401);
        clients.MapPost("/apiv1/session", async (HttpContext http, IOptions<ApiOptions> api) =>
            {
                if (api.Value.Clients == ClientAccess.Anonymous)
                    return Reply.Error(400, "this service does not tell clients apart (Api:Clients is anonymous): there is nothing to sign in to");
                // The gate has found the key's client already, or refused the request.
                if (ClientGate.KeyOf(http.Request) is not { } key || ClientGate.Client(http) is not { } client)
                    return Reply.Error(400, $"sign in with a client's key: send Authorization: Bearer KEY or {SupportRoutes.KeyHeader}: KEY");
                var identity = new ClaimsIdentity([new Claim(ClientClaim, client.Id), new Claim(KeyClaim, key)], Scheme);
                await http.SignInAsync(Scheme, new ClaimsPrincipal(identity), new AuthenticationProperties { IsPersistent = true });
                return Results.Ok(View(http, api.Value));
            })
            .WithSummary("Sign a browser in with a client's key (in the header): the answer sets an HttpOnly cookie that stands for the key on the client routes")
            .Produces<SessionView>().Produces<ErrorReply>(400).Produces<ErrorReply>(401);
        clients.MapDelete("/apiv1/session", async (HttpContext http, IOptions<ApiOptions> api) =>
            {
                await SignOutAsync(http);
                return Results.Ok(View(http, api.Value) with { Client = api.Value.Clients == ClientAccess.Both ? ClientKeys.Anonymous : null, SignedIn = false });
            })
            .WithSummary("Sign the browser out: its sign-in cookie is dropped")
            .Produces<SessionView>().Produces<ErrorReply>(401);
        return clients;
    }

    private static SessionView View(HttpContext http, ApiOptions api) =>
        new(api.Clients.ToString().ToLowerInvariant(), ClientGate.Client(http)?.Name, ClientGate.SignedIn(http));

    private static Task Refuse(HttpResponse response, int status)
    {
        response.StatusCode = status;
        return Task.CompletedTask;
    }

    /// <summary>Data Protection's keys held in memory only, for a process that protects nothing with them.</summary>
    private sealed class MemoryXmlRepository : IXmlRepository
    {
        private readonly List<XElement> _elements = [];

        public IReadOnlyCollection<XElement> GetAllElements()
        {
            lock (_elements) return [.. _elements.Select(e => new XElement(e))];
        }

        public void StoreElement(XElement element, string friendlyName)
        {
            lock (_elements) _elements.Add(new XElement(element));
        }
    }
}
