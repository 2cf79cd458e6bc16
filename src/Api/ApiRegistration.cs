using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MSaaS.Api.Routes;
using MSaaS.Api.Uploads;

namespace MSaaS.Api;

public static class ApiRegistration
{
    /// <summary>The REST API's services: options, JSON, OpenAPI, health checks, intake.</summary>
    public static IServiceCollection AddMsaasApi(this IServiceCollection services, IConfiguration configuration)
    {
        services.Configure<ApiOptions>(configuration.GetSection(ApiOptions.Section));
        var maxBytes = configuration.GetSection(ApiOptions.Section).GetValue<long?>(nameof(ApiOptions.MaxRequestBytes)) ?? new ApiOptions().MaxRequestBytes;
        services.Configure<KestrelServerOptions>(k => k.Limits.MaxRequestBodySize = maxBytes);
        services.Configure<Microsoft.AspNetCore.Http.Features.FormOptions>(f => f.MultipartBodyLengthLimit = maxBytes);
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull;
        });
        services.TryAddSingleton<SongIntake>();
        services.AddOpenApi();
        services.AddHealthChecks();
        return services;
    }

    /// <summary>Every route: the legacy contract, status and progress, support, OpenAPI, health.</summary>
    public static WebApplication MapMsaasApi(this WebApplication app)
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

        app.UseRouting(); // after the handlers above, so that routing failures answer JSON too

        app.MapLegacyRoutes();
        app.MapStatusRoutes();
        app.MapSupportRoutes();
        app.MapOpenApi("/openapi/{documentName}.json");
        app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
        app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        return app;
    }
}
