using Microsoft.Extensions.Hosting;
using System.CommandLine;
using MSaaS.Cli.Hosting;

namespace MSaaS.Cli;

/// <summary>
/// <c>msaas run api|separation|encoding|notifications</c>: one service of the distributed mode, configured by
/// appsettings, MSAAS_-prefixed environment variables (MSAAS_Bus__Transport=rabbitmq, ...) and the command line.
/// The saga runs in the api process.
/// </summary>
internal static class RunCommand
{
    private static readonly Dictionary<string, MsaasRoles> Roles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["api"] = MsaasRoles.Api,
        ["separation"] = MsaasRoles.Separation,
        ["encoding"] = MsaasRoles.Encoding,
        ["notifications"] = MsaasRoles.Notifications,
        ["all"] = MsaasRoles.All,
    };

    // The distributed profile: callback URLs come from anonymous clients.
    private static readonly Dictionary<string, string?> DistributedDefaults = new()
    {
        ["Bus:Transport"] = "rabbitmq",
        ["Webhooks:AllowPrivateTargets"] = "false",
        ["Api:AllowPrivateCallbacks"] = "false",
        ["Logging:LogLevel:Default"] = "Information",
        ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning",
        ["Logging:LogLevel:MassTransit"] = "Warning",
    };

    public static Command Create()
    {
        var role = new Argument<string>("service") { Description = "api, separation, encoding or notifications" };
        role.AcceptOnlyFromAmong([.. Roles.Keys]);
        var command = new Command("run", "Run one service of the distributed mode (RabbitMQ, Redis, S3)") { role };
        command.TreatUnmatchedTokensAsErrors = false;
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            await using var app = MsaasWebHost.Build(Roles[result.GetValue(role)!], [.. result.UnmatchedTokens], DistributedDefaults);
            await ((IHost)app).RunAsync(cancellationToken); // until a signal; then a graceful stop within HostOptions.ShutdownTimeout
            return 0;
        }));
        return command;
    }
}
