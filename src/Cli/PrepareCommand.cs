using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Separation;
using MSaaS.Separation.Demucs;
using MSaaS.ServiceDefaults;

namespace MSaaS.Cli;

/// <summary>
/// <c>msaas prepare</c>: prepares the model for this machine (its stages, its int8 weights) into the cache and exits,
/// so that a worker's first start finds it done: what a Kubernetes init container on the worker's cache volume runs.
/// It reads the worker's settings (MSAAS_Separation__...) as the worker does, the command's options on top.
/// </summary>
internal static class PrepareCommand
{
    public static Command Create()
    {
        var engine = new EngineOptions();
        var command = new Command("prepare", "Prepare the model for this machine (its stages, int8 weights) in the cache, and exit");
        engine.AddTo(command, song: false);

        command.SetAction((result, _) => CliErrors.Run(() =>
        {
            var configuration = new ConfigurationBuilder()
                .AddInMemoryCollection(SeparateCommand.EngineSettings(Environment.GetEnvironmentVariables()))
                .AddInMemoryCollection(engine.ToConfiguration(result))
                .Build();
            var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
            services.AddValidatedOptions<SeparationEngineOptions>("Separation");
            using var provider = services.BuildServiceProvider();
            var options = provider.GetRequiredService<IOptions<SeparationEngineOptions>>().Value;

            var clock = Stopwatch.StartNew();
            var precision = options.ResolvedPrecision.ToString().ToLowerInvariant();
            Console.WriteLine(DemucsSeparator.Prepare(options)
                ? $"Prepared {options.ResolvedModelPath} ({precision}) in {clock.Elapsed.TotalSeconds:F1} s, under {AssetPaths.CacheDirectory}"
                : $"Nothing to prepare for {options.ResolvedModelPath} ({precision}): prepared already, or it runs as it is");
            return Task.FromResult(0);
        }));
        return command;
    }
}
