using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MSaaS.Api;
using MSaaS.ServiceDefaults;

namespace MSaaS.Cli.Hosting;

/// <summary>One MSaaS process on ASP.NET Core: the API if it has that role; health endpoints and /metrics in any case.</summary>
public static class MsaasWebHost
{
    public static WebApplication Build(MsaasRoles roles, string[] args, IDictionary<string, string?> defaults,
        IDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = Common.Where(c => !defaults.ContainsKey(c.Key)).Concat(defaults) });
        builder.Configuration.AddEnvironmentVariables("MSAAS_");
        builder.Configuration.AddCommandLine(args);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        // The whole stop, within Kubernetes' default grace period of 30 s: the work in hand finishes or is handed back
        // within WorkerStop.Grace (15 s), then the bus stops within MassTransitHostOptions.StopTimeout (5 s).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(25));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false); // no "Server: Kestrel" for a scanner
        builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        builder.Services.AddMsaas(builder.Configuration, roles);
        builder.Services.AddMsaasTelemetry(builder.Configuration, ServiceName(roles));
        if (roles.HasFlag(MsaasRoles.Api)) builder.Services.AddApi().AddSongCensus();
        else builder.Services.AddHealthChecks();

        var app = builder.Build();
        if (roles.HasFlag(MsaasRoles.Api))
        {
            app.MapApi();
        }
        else
        {
            app.MapHealthChecks("/health/live", new HealthCheckOptions { Predicate = _ => false });
            app.MapHealthChecks("/health/ready", new HealthCheckOptions { Predicate = check => check.Tags.Contains("ready") });
        }
        app.MapMsaasMetrics();
        return app;
    }

    /// <summary>The OpenTelemetry service.name: msaas for the embedded mode, msaas-separation (...) for one service.</summary>
    public static string ServiceName(MsaasRoles roles) => roles == MsaasRoles.All ? "msaas" : "msaas-" + roles.ToString().ToLowerInvariant();

    // Every process: a log line written while a request or a message is handled names its trace (TraceId, SpanId).
    // The formatter is named: without a name the console logger takes its obsolete top-level settings instead of
    // FormatterOptions. Logging:Console:FormatterName=json gives one JSON object per line, scopes included.
    private static readonly Dictionary<string, string?> Common = new()
    {
        ["Logging:Console:FormatterName"] = "simple",
        ["Logging:Console:FormatterOptions:IncludeScopes"] = "true",
    };
}
