using Microsoft.Extensions.Hosting;
using System.CommandLine;
using Microsoft.AspNetCore.Builder;
using MSaaS.Cli.Hosting;

namespace MSaaS.Cli;

/// <summary>
/// <c>msaas serve</c>: the embedded mode. The REST API and every stage in one process on the in-memory bus, with
/// an in-memory saga store and local-directory storage, on http://localhost:5000 unless --urls or
/// ASPNETCORE_URLS say otherwise.
/// </summary>
internal static class ServeCommand
{
    public static Command Create()
    {
        var command = new Command("serve", "Run MSaaS on this machine: the REST API and every stage in one process (port 5000)")
        {
            TreatUnmatchedTokensAsErrors = false, // ASP.NET Core's own switches (--urls, --environment, ...) pass through
        };
        var urls = new Option<string?>("--urls") { Description = "Addresses to listen on [default: http://localhost:5000]" };
        command.Options.Add(urls);
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var args = result.UnmatchedTokens.ToList();
            if (result.GetValue(urls) is { } given) args.AddRange(["--urls", given]);
            await using var app = Build([.. args]);
            await app.StartAsync(cancellationToken);
            Console.Error.WriteLine($"MSaaS is listening on {string.Join(", ", app.Urls)} (embedded mode; Ctrl+C stops it)");
            // Until a signal: then new requests are refused and the song in hand finishes or is resumed at the next start,
            // within HostOptions.ShutdownTimeout.
            await ((IHost)app).WaitForShutdownAsync(cancellationToken);
            return 0;
        }));
        return command;
    }

    /// <summary>The embedded web host, configured from appsettings, MSAAS_-prefixed environment variables and <paramref name="args"/>.</summary>
    public static WebApplication Build(string[] args, IDictionary<string, string?>? overrides = null) =>
        MsaasWebHost.Build(MsaasRoles.All, args, EmbeddedDefaults, overrides);

    // One person's own machine: the legacy client registers http://localhost:5000 as its webhook.
    private static readonly Dictionary<string, string?> EmbeddedDefaults = new()
    {
        ["Webhooks:AllowPrivateTargets"] = "true",
        ["Api:AllowPrivateCallbacks"] = "true",
        // Only under this machine's own names: a web page elsewhere cannot reach it by DNS rebinding (RequestGuard).
        ["Api:AllowedHosts:0"] = "localhost",
        ["Api:AllowedHosts:1"] = "127.0.0.1",
        ["Api:AllowedHosts:2"] = "[::1]",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:MassTransit"] = "Warning",
    };
}
