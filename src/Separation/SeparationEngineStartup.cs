using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.Separation;

/// <summary>
/// Opens the separation engine when the process starts, before the bus hands it a song: a worker that cannot load the
/// model (missing, damaged, or CUDA asked for and not there) refuses to start with the reason instead of failing
/// every song, and the first song does not wait for the model.
/// </summary>
public sealed class SeparationEngineStartup(IServiceProvider services, ILogger<SeparationEngineStartup> logger) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        var separator = services.GetRequiredService<IStemSeparator>();
        if (separator is Demucs.DemucsSeparator demucs) logger.LogInformation("separation engine ready: {Engine}", demucs.Description);
        SeparationMetrics.ModelReady();
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
