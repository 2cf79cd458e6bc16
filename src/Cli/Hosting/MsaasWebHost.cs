using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using MSaaS.Api;

namespace MSaaS.Cli.Hosting;

/// <summary>One MSaaS process on ASP.NET Core: the API if it has that role, health endpoints in any case.</summary>
public static class MsaasWebHost
{
    public static WebApplication Build(MsaasRoles roles, string[] args, IDictionary<string, string?> defaults,
        IDictionary<string, string?>? overrides = null)
    {
        var builder = WebApplication.CreateBuilder(args);
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource { InitialData = defaults });
        builder.Configuration.AddEnvironmentVariables("MSAAS_");
        builder.Configuration.AddCommandLine(args);
        if (overrides is not null) builder.Configuration.AddInMemoryCollection(overrides);
        // A stopping worker finishes its song or hands it back within this time (Kubernetes' grace period is longer).
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(60));
        builder.WebHost.ConfigureKestrel(kestrel => kestrel.AddServerHeader = false); // no "Server: Kestrel" for a scanner
        builder.Services.AddSingleton<IHostLifetime, SignalFreeLifetime>();
        builder.Services.AddMsaas(builder.Configuration, roles);
        if (roles.HasFlag(MsaasRoles.Api)) builder.Services.AddApi();
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
        return app;
    }
}
