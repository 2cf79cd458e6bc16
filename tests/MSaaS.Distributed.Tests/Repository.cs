using System.Diagnostics;
using MSaaS.Testing;

namespace MSaaS.Distributed.Tests;

/// <summary>Paths of this checkout, and its eng/services.sh.</summary>
internal static class Repository
{
    public static string Root => TestData.RepositoryRoot;

    /// <summary>The Release build of the msaas command that ./msaas test builds first.</summary>
    public static string Cli
    {
        get
        {
            var path = Path.Combine(Root, "artifacts", "cli", "msaas");
            return File.Exists(path) ? path : throw new FileNotFoundException($"{path} is missing: run the tests with ./msaas test, which builds it");
        }
    }

    /// <summary>Runs eng/services.sh (restart redis, ...), failing the test if it fails.</summary>
    public static async Task Services(params string[] args)
    {
        var info = new ProcessStartInfo(Path.Combine(Root, "eng", "services.sh")) { RedirectStandardError = true, RedirectStandardOutput = true };
        foreach (var a in args) info.ArgumentList.Add(a);
        using var process = Process.Start(info)!;
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0) throw new InvalidOperationException($"services.sh {string.Join(' ', args)} failed: {await errors}");
    }

    /// <summary>The settings that point `msaas run ...` at the servers `./msaas test` started (RabbitMQ, Redis, S3).</summary>
    public static Dictionary<string, string> DistributedProfile() => new()
    {
        ["MSAAS_Bus__Transport"] = "rabbitmq",
        ["MSAAS_RabbitMq__Host"] = "127.0.0.1",
        ["MSAAS_RabbitMq__Port"] = Require("MSAAS_RABBITMQ_PORT"),
        ["MSAAS_Redis__Configuration"] = Require("MSAAS_REDIS_ENDPOINT"),
        ["MSAAS_Storage__Kind"] = "s3",
        ["MSAAS_Storage__S3__Endpoint"] = Require("MSAAS_S3_ENDPOINT"),
        ["MSAAS_Storage__S3__AccessKey"] = Require("MSAAS_S3_ACCESS_KEY"),
        ["MSAAS_Storage__S3__SecretKey"] = Require("MSAAS_S3_SECRET_KEY"),
    };

    public static string Require(string variable) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"{variable} is not set: run the tests with ./msaas test (it starts RabbitMQ, Redis and S3)");
}
