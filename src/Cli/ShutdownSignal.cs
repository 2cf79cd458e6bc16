using System.Runtime.InteropServices;

namespace MSaaS.Cli;

/// <summary>
/// SIGINT (Ctrl+C), SIGTERM (a container stop) and SIGQUIT ask the command to stop: the first cancels
/// <see cref="Token"/>, so that a service finishes or hands back the work in hand and exits within its stop timeout;
/// a second one ends the process at once. Hosts started by the command leave signals to this class
/// (<see cref="Hosting.SignalFreeLifetime"/>).
/// </summary>
internal sealed class ShutdownSignal : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;

    public ShutdownSignal()
    {
        _registrations = [Register(PosixSignal.SIGINT), Register(PosixSignal.SIGTERM), Register(PosixSignal.SIGQUIT)];
    }

    public CancellationToken Token => _stop.Token;

    public void Dispose()
    {
        foreach (var registration in _registrations) registration.Dispose();
        _stop.Dispose();
    }

    private PosixSignalRegistration Register(PosixSignal signal) => PosixSignalRegistration.Create(signal, context =>
    {
        if (_stop.IsCancellationRequested) return; // the second: the signal's own action, which ends the process
        context.Cancel = true;
        Console.Error.WriteLine($"msaas: {signal} received: stopping (send it again to stop at once)");
        _stop.Cancel();
    });
}
