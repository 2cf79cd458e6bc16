using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Metrics and traces of an MSaaS process, on OpenTelemetry: ASP.NET Core, HttpClient, the .NET runtime, MassTransit
/// and the project's own meters (named "MSaaS.*", exported as msaas_*), scraped at GET /metrics in Prometheus' text
/// format. Traces follow W3C trace context from the HTTP request that submits a song through the bus to the webhook
/// request; they are exported over OTLP only when OTEL_EXPORTER_OTLP_ENDPOINT is set, and nothing is sent otherwise.
/// </summary>
public static class MsaasTelemetry
{
    /// <summary>Every meter of the project is named with this prefix ("MSaaS.Separation", ...).</summary>
    public const string MeterPrefix = "MSaaS";

    /// <summary>The path Prometheus scrapes.</summary>
    public const string MetricsPath = "/metrics";

    /// <summary>MassTransit's ActivitySource and Meter.</summary>
    private const string MassTransitSource = "MassTransit";

    /// <summary>The standard variable that turns OTLP export on (with its OTEL_EXPORTER_OTLP_* companions).</summary>
    public const string OtlpEndpointVariable = "OTEL_EXPORTER_OTLP_ENDPOINT";

    /// <summary>Registers metrics and tracing for a process called <paramref name="serviceName"/> (the OpenTelemetry service.name).</summary>
    public static IServiceCollection AddMsaasTelemetry(this IServiceCollection services, IConfiguration configuration, string serviceName)
    {
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName, serviceVersion: typeof(MsaasTelemetry).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddView(KeepBoundedTags)
                .AddRuntimeInstrumentation()
                .AddMeter(MassTransitSource)
                .AddMeter(MeterPrefix + ".*")
                .AddPrometheusExporter())
            .WithTracing(tracing => tracing
                // Probes and scrapes every few seconds would drown the songs' traces.
                .AddAspNetCoreInstrumentation(o => o.Filter = http => !IsOperational(http.Request.Path))
                .AddHttpClientInstrumentation()
                .AddSource(MassTransitSource));
        // UseOtlpExporter reads the standard variables itself (endpoint, protocol, headers); without the endpoint
        // the process exports nothing anywhere (NoCallsOut_Specs).
        if (!string.IsNullOrWhiteSpace(configuration[OtlpEndpointVariable])) telemetry.UseOtlpExporter();
        return services;
    }

    /// <summary>
    /// The tags HttpClient's and DNS's instruments keep. Their others name whom a request went to (server.address,
    /// server.port, network.peer.address, dns.question.name): for a webhook, a client's host, one series per client
    /// that would tell any scraper who the clients are and grow without end. What is left has a handful of values each.
    /// </summary>
    internal static readonly string[] HttpClientTags =
        ["http.request.method", "http.response.status_code", "error.type", "network.protocol.version", "url.scheme", "http.connection.state"];

    internal static readonly string[] NameResolutionTags = ["error.type"];

    // A view per instrument of System.Net.Http and System.Net.NameResolution, keeping only the tags above; the others as they are.
    private static MetricStreamConfiguration? KeepBoundedTags(Instrument instrument) => instrument.Meter.Name switch
    {
        "System.Net.Http" => new MetricStreamConfiguration { TagKeys = HttpClientTags },
        "System.Net.NameResolution" => new MetricStreamConfiguration { TagKeys = NameResolutionTags },
        _ => null,
    };

    /// <summary>GET /metrics: the Prometheus text of every meter above.</summary>
    public static IEndpointConventionBuilder MapMsaasMetrics(this IEndpointRouteBuilder app) =>
        app.MapPrometheusScrapingEndpoint(MetricsPath);

    /// <summary>Paths for the cluster, not for clients: health probes and the metrics scrape.</summary>
    public static bool IsOperational(PathString path) =>
        path.StartsWithSegments("/health", StringComparison.OrdinalIgnoreCase) ||
        path.StartsWithSegments(MetricsPath, StringComparison.OrdinalIgnoreCase);

    /// <summary>Bucket bounds for a histogram in seconds (OpenTelemetry's default bounds are for milliseconds).</summary>
    public static InstrumentAdvice<double> Buckets(params double[] bounds) => new() { HistogramBucketBoundaries = bounds };

    /// <summary>Durations of a song's stage: from a tenth of a second to twenty minutes.</summary>
    public static readonly InstrumentAdvice<double> StageSeconds = Buckets(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300, 600, 1200);
}
