using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using MSaaS.Api.Mixing;
using MSaaS.Api.Routes;
using MSaaS.Api.Web;
using MSaaS.Encoding;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api;

public static class ApiRegistration
{
    /// <summary>The REST API's services: "Api" options, request limits, JSON, OpenAPI, health checks, mixes (LAME as "Mp3" says).</summary>
    public static IServiceCollection AddApi(this IServiceCollection services)
    {
        services.AddValidatedOptions<ApiOptions>(ApiOptions.Section);
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ApiOptions>>((k, api) => k.Limits.MaxRequestBodySize = api.Value.MaxRequestBytes);
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

    /// <summary>Every route: the web page, the legacy contract, status and progress, mixes, support, OpenAPI, health.</summary>
    public static WebApplication MapApi(this WebApplication app)
    {
        // Whatever fails unexpectedly still answers JSON, never a stack trace.
        app.UseExceptionHandler(error => error.Run(context =>
        {
            var failure = context.Features.Get<IExceptionHandlerFeature>()?.Error;
            var status = failure is Microsoft.AspNetCore.Http.BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;
            var reason = status == StatusCodes.Status413PayloadTooLarge ? "the request is larger than this service accepts"
                : status == StatusCodes.Status500InternalServerError ? "internal error; the song, if accepted, is not lost"
                : failure?.Message ?? "bad request";
            return Results.Json(new ErrorReply(reason, status), statusCode: status).ExecuteAsync(context);
        }));
        app.UseStatusCodePages(context => Results.Json(new ErrorReply($"no route {context.HttpContext.Request.Method} {context.HttpContext.Request.Path}",
            context.HttpContext.Response.StatusCode), statusCode: context.HttpContext.Response.StatusCode).ExecuteAsync(context.HttpContext));

        app.UseWebPage(); // its scripts and styles, /ui/...
        app.UseRouting(); // after the handlers above, so that routing failures answer JSON too

        app.MapWebPage();
        app.MapLegacyRoutes();
        app.MapStatusRoutes();
        app.MapMixRoutes();
        app.MapSupportRoutes();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
