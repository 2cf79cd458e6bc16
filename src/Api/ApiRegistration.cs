using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Api.Clients;
using MSaaS.Api.Mixing;
using MSaaS.Api.Routes;
using MSaaS.Api.Security;
using MSaaS.Api.Uploads;
using MSaaS.Api.Web;
using MSaaS.Audio.Mp3;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api;

public static class ApiRegistration
{
    /// <summary>The REST API's services: "Api" options, request limits, JSON, OpenAPI, health checks, mixes (LAME as "Mp3" says).</summary>
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.AddValidatedOptions<ApiOptions>(ApiOptions.Section);
        services.TryAddSingleton<SongIntake>(); // every song enters by it, from REST or the legacy queue
        services.AddClients();
        services.TryAddSingleton(_ => new MSaaS.Audio.FfmpegDecoder());
        services.TryAddSingleton<SongLength>(); // a client's song is charged by its length at submit
        services.AddKeyedSingleton<KeyAttempts>(ClientGate.AttemptsKey);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ApiOptions>>((k, api) =>
        {
            k.Limits.MaxRequestBodySize = api.Value.MaxRequestBytes;
            k.AddServerHeader = false; // a scanner learns nothing from "Server: Kestrel"
        });
        services.AddOptions<ForwardedHeadersOptions>().Configure<IOptions<ApiOptions>>((forwarded, api) =>
        {
            // Not X-Forwarded-Host: the proxy passes the Host the browser sent, and AllowedHosts judges that. One hop: the
            // address the nearest trusted proxy saw (behind a load balancer and then an ingress, the load balancer's).
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            forwarded.ForwardLimit = 1;
            // ASP.NET Core trusts loopback by default: here only the proxies configured.
            forwarded.KnownProxies.Clear();
            forwarded.KnownIPNetworks.Clear();
            var (proxies, networks) = api.Value.ParsedTrustedProxies();
            foreach (var proxy in proxies) forwarded.KnownProxies.Add(proxy);
            foreach (var network in networks) forwarded.KnownIPNetworks.Add(network);
        });
        services.AddSingleton<KeyAttempts>();
        services.AddSingleton<UploadSlots>();
        services.AddSingleton<LiveListeners>();
        services.AddScratchCleanup();
        services.AddOptions<FormOptions>().Configure<IOptions<ApiOptions>>((f, api) => f.MultipartBodyLengthLimit = api.Value.MaxRequestBytes);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddValidatedOptions<Mp3Options>(Mp3Options.Section);
        services.TryAddSingleton(new StemMixer());
        services.TryAddSingleton<MixCache>();
        services.AddOpenApi();
        services.AddHealthChecks();
        return services;
    }

    /// <summary>The api's own consumers: the clients' usage settled as each song ends.</summary>
    public static MassTransit.IBusRegistrationConfigurator AddApiConsumers(this MassTransit.IBusRegistrationConfigurator bus)
    {
        bus.AddConsumer<SongFinishedConsumer>();
        return bus;
    }

    /// <summary>The msaas_songs gauges: the saga store's songs counted by state every Api:CensusInterval (one API process per store is enough).</summary>
    public static IServiceCollection AddSongCensus(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<Microsoft.Extensions.Hosting.IHostedService, SongCensus>());
        return services;
    }

    /// <summary>Every route: the web page, the legacy contract, status and progress, mixes, support, OpenAPI, health.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        // First, so that everything after it (the Origin rule, the per-client limits, the logs) sees the scheme and
        // client the proxy saw. Only with proxies configured: with none listed the middleware would believe anyone.
        if (app.Services.GetRequiredService<IOptions<ApiOptions>>().Value.TrustedProxies.Length > 0) app.UseForwardedHeaders();
        // Whatever fails still answers JSON, never a stack trace. A request Kestrel found malformed while the route
        // read it (a body cut short, too slow, too large) is the client's: 4xx and one line in the log, not an error.
        app.UseExceptionHandler(new ExceptionHandlerOptions
        {
            SuppressDiagnosticsCallback = context => context.Exception is Microsoft.AspNetCore.Http.BadHttpRequestException,
            ExceptionHandler = context =>
            {
                var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
                return failure is Microsoft.AspNetCore.Http.BadHttpRequestException bad
                    ? Reply.WriteAsync(context, bad.StatusCode, Reply.ProtocolReason(bad.StatusCode))
                    : Reply.WriteAsync(context, StatusCodes.Status500InternalServerError, "internal error; the song, if accepted, is not lost");
            },
        });
        app.UseStatusCodePages(context => Reply.WriteAsync(context.HttpContext, context.HttpContext.Response.StatusCode,
            $"no route {context.HttpContext.Request.Method} {ClientText.Cut(context.HttpContext.Request.Path.Value ?? "", 200)}"));
        app.UseMiddleware<RequestGuard>();

        app.UseWebPage(); // its scripts and styles, /ui/...
        app.UseRouting(); // after the handlers above, so that routing failures answer JSON too

        app.MapWebPage();
        app.MapLegacyWebhookTarget();
        // The routes of a client's songs: with Api:Clients other than "anonymous", each needs a client and shows it only its own.
        var clients = app.MapGroup("").AddEndpointFilter(ClientGate.FilterAsync);
        clients.MapLegacyRoutes();
        clients.MapStatusRoutes();
        clients.MapLiveRoutes();
        clients.MapMixRoutes();
        clients.MapUsageRoute();
        clients.MapSessionRoutes();
        app.MapSupportRoutes();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
