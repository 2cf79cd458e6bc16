using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace MSaaS.Separation;

/// <summary>
/// Opens the separation engine when the process starts, before the bus hands it a song: a worker that cannot load the
/// model (missing, damaged, or CUDA asked for and not there) refuses to start with the reason instead of failing
/// every song, and the first song does not wait for the model. With <see cref="SeparationEngineOptions.WarmUp"/> it
/// also runs each model instance once on silence, so that the first song runs as fast as the tenth.
/// </summary>
public sealed class SeparationEngineStartup(IServiceProvider services, IOptions<SeparationEngineOptions> options,
    ILogger<SeparationEngineStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var separator = services.GetRequiredService<IStemSeparator>();
        if (separator is Demucs.DemucsSeparator demucs)
        {
            var settings = options.Value;
            if (settings.WarmUp) demucs.WarmUp(cancellationToken);
            logger.LogInformation("separation engine ready: {Engine}; {SongsInParallel} song(s) at a time, {Threads} threads each ({ThreadSource}); {WarmUp}",
                demucs.Description, demucs.SongsInParallel, settings.ResolvedThreads,
                settings.Threads > 0 ? "Separation:Threads" : "the CPUs this process may use, shared among the songs",
                settings.WarmUp ? string.Create(CultureInfo.InvariantCulture, $"warmed up in {demucs.WarmUpTime.TotalSeconds:F1} s") : "no warm-up");
        }
        SeparationMetrics.ModelReady();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
