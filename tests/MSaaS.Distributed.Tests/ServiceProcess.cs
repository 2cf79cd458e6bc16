using System.Diagnostics;
using System.Net.Sockets;

namespace MSaaS.Distributed.Tests;

/// <summary>One msaas process (`msaas run &lt;service&gt;` of the distributed mode, or `msaas serve`), with its output in a log file.</summary>
internal sealed class ServiceProcess : IDisposable
{
    private readonly Process _process;

    private ServiceProcess(string name, Process process, string log, int port)
    {
        Name = name;
        _process = process;
        Log = log;
        Port = port;
    }

    public string Name { get; }

    public string Log { get; }

    public int Port { get; }

    public string Url => $"http://127.0.0.1:{Port}";

    public bool Running => !_process.HasExited;

    public static ServiceProcess Start(string name, string role, IReadOnlyDictionary<string, string> environment, string logDirectory) =>
        Start(name, ["run", role], environment, logDirectory);

    /// <summary>Starts <c>msaas &lt;command&gt; --urls http://127.0.0.1:&lt;free port&gt;</c> (without --urls when <paramref name="listens"/> is false).</summary>
    public static ServiceProcess Start(string name, string[] command, IReadOnlyDictionary<string, string> environment, string logDirectory,
        bool listens = true, string? workingDirectory = null)
    {
        var port = FreePort();
        var log = Path.Combine(logDirectory, name + ".log");
        var info = new ProcessStartInfo("bash")
        {
            UseShellExecute = false,
            RedirectStandardOutput = false,
            WorkingDirectory = workingDirectory ?? "",
        };
        // exec: the shell becomes the service, so a signal reaches the service itself. env --default-signal: a test run
        // started in the background by a shell without job control inherits SIGINT ignored (POSIX), and a process
        // keeps an ignored SIGINT ignored; the service under test gets it back, as a terminal's Ctrl+C would reach it.
        info.ArgumentList.Add("-c");
        var urls = listens ? $" --urls http://127.0.0.1:{port}" : "";
        info.ArgumentList.Add($"exec env --default-signal=INT \"$0\" {string.Join(' ', command.Select(a => $"'{a}'"))}{urls} >>\"$1\" 2>&1");
        info.ArgumentList.Add(Repository.Cli);
        info.ArgumentList.Add(log);
        foreach (var (key, value) in environment) info.Environment[key] = value;
        return new ServiceProcess(name, Process.Start(info)!, log, port);
    }

    public int Pid => _process.Id;

    /// <summary>Waits (polling /health/ready) until the process is ready; fails with its log if it exits or is not ready in time.</summary>
    public async Task WaitReadyAsync(HttpClient http, TimeSpan? within = null)
    {
        var until = DateTime.UtcNow + (within ?? TimeSpan.FromMinutes(1));
        while (true)
        {
            if (!Running) Assert.Fail($"{Name} exited: {(File.Exists(Log) ? File.ReadAllText(Log) : "")}");
            try
            {
                if ((await http.GetAsync(Url + "/health/ready")).IsSuccessStatusCode) return;
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                // not listening yet, or too busy starting to answer in time
            }
            Assert.True(DateTime.UtcNow < until, $"{Name} not ready within {within ?? TimeSpan.FromMinutes(1)}: {(File.Exists(Log) ? File.ReadAllText(Log) : "")}");
            await Task.Delay(250); // the next look at the health route
        }
    }

    /// <summary>SIGKILL: no chance to finish or hand anything back.</summary>
    public void Kill() => _process.Kill();

    /// <summary>Sends a signal (TERM, INT, KILL, ...) to the process.</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
        await kill.WaitForExitAsync();
    }

    /// <summary>The exit code once the process has exited within <paramref name="within"/>; null if it still runs.</summary>
    public async Task<int?> ExitCodeAsync(TimeSpan within)
    {
        try
        {
            await _process.WaitForExitAsync().WaitAsync(within);
            return _process.ExitCode;
        }
        catch (TimeoutException)
        {
            return null;
        }
    }

    /// <summary>SIGTERM and wait: a graceful stop.</summary>
    public async Task StopAsync()
    {
        using (var kill = Process.Start("kill", ["-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            await kill.WaitForExitAsync();
        await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(90));
    }

    public void Dispose()
    {
        if (!_process.HasExited) _process.Kill();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}
