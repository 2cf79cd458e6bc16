using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace MSaaS.Cli.Bench;

/// <summary>
/// An msaas process a benchmark starts (<c>serve</c>, or a service of the distributed mode) on a free port of
/// 127.0.0.1, logging warnings only; the line it exits with (<c>msaas: ...</c>) is kept for the error that says why.
/// Disposing it stops it as an operator would (SIGTERM: a worker finishes or hands back the song in hand, so that a
/// broker kept for the next run does not give that run an earlier run's song first), and kills it if it has not
/// stopped within a minute.
/// </summary>
internal sealed partial class MsaasChild : IDisposable
{
    private readonly Process _process;
    private volatile string? _lastError;

    private MsaasChild(string name, Process process, Uri address)
    {
        Name = name;
        _process = process;
        Address = address;
    }

    public string Name { get; }

    public Uri Address { get; }

    public int Id => _process.Id;

    /// <summary>Starts <c>msaas <paramref name="command"/> --urls http://127.0.0.1:port</c> with <paramref name="environment"/> added.</summary>
    public static MsaasChild Start(string name, IEnumerable<string> command, IReadOnlyDictionary<string, string>? environment = null)
    {
        var address = new Uri($"http://127.0.0.1:{FreePort()}");
        var self = Environment.ProcessPath!;
        var info = new ProcessStartInfo(self) { UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet") info.ArgumentList.Add(typeof(MsaasChild).Assembly.Location);
        foreach (var a in command.Concat(["--urls", address.ToString().TrimEnd('/')])) info.ArgumentList.Add(a);
        info.Environment["MSAAS_Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment ?? new Dictionary<string, string>()) info.Environment[key] = value;
        var child = new MsaasChild(name, Process.Start(info)!, address);
        child._process.OutputDataReceived += (_, _) => { };
        child._process.ErrorDataReceived += (_, line) =>
        {
            if (line.Data?.StartsWith("msaas: ", StringComparison.Ordinal) == true) child._lastError = line.Data;
        };
        child._process.BeginOutputReadLine();
        child._process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Waits until its /health/ready answers 200; fails with the line it exited with, or after <paramref name="within"/>.</summary>
    public async Task WaitReadyAsync(TimeSpan within, CancellationToken cancellationToken, string? hint = null)
    {
        using var http = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(10) };
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < within; await Task.Delay(250, cancellationToken))
        {
            if (_process.HasExited)
                throw new InvalidOperationException($"{Name} exited with code {_process.ExitCode} ({_lastError ?? "no message"}){hint}");
            try
            {
                if ((await http.GetAsync("/health/ready", cancellationToken)).IsSuccessStatusCode) return;
            }
            catch (HttpRequestException)
            {
            }
        }
        throw new TimeoutException($"{Name} did not become ready within {within.TotalSeconds:F0} s{hint}");
    }

    public void Dispose()
    {
        if (!_process.HasExited && (Kill(_process.Id, SigTerm) != 0 || !_process.WaitForExit(TimeSpan.FromMinutes(1))))
            _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
        _process.Dispose();
    }

    private const int SigTerm = 15;

    [System.Runtime.InteropServices.LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
