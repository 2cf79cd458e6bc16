using Microsoft.Extensions.Hosting;

namespace MSaaS.Cli.Hosting;

/// <summary>
/// A host lifetime that leaves signals alone: the msaas command handles them (<see cref="ShutdownSignal"/>) and stops
/// the host through the token it runs it with. The default console lifetime would swallow every SIGTERM and Ctrl+C,
/// a second one included, and stop the host only if something waited for it.
/// </summary>
internal sealed class SignalFreeLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
