using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Xunit.Abstractions;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// No MSaaS process calls out unasked. Each process runs with an HTTP(S) proxy that is a recorder on loopback, so any
/// request of .NET's HTTP stack to somewhere other than this machine (MassTransit's usage telemetry, above all) lands
/// there. A process with
/// MassTransit's telemetry switched on (Bus:UsageTelemetry) is the control: its report shows the recorder works and
/// that the others ran as long (MassTransit reports 30 s after the bus starts at the earliest, 5 min by default).
/// </summary>
[Trait("Category", "Distributed")]
public sealed class NoCallsOut_Specs(ITestOutputHelper output) : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-calls-out-");
    private readonly List<ServiceProcess> _processes = [];

    [Fact]
    public async Task Should_send_nothing_off_the_machine_unless_configured_to()
    {
        using var quiet = new ProxyRecorder();
        using var control = new ProxyRecorder();
        var distributed = Repository.DistributedProfile();
        var embedded = new Dictionary<string, string> { ["MSAAS_Storage__Root"] = Path.Combine(_work.FullName, "store") };

        Start("serve", ["serve"], embedded, quiet);
        Start("api", ["run", "api"], distributed, quiet);
        Start("notifications", ["run", "notifications"], distributed, quiet);
        Start("control", ["run", "notifications"], new(distributed)
        {
            ["MSAAS_Bus__UsageTelemetry"] = "true", ["MSAAS_Bus__UsageTelemetryDelay"] = "00:00:30",
        }, control);

        var reported = await control.WaitForAsync(TimeSpan.FromSeconds(90));
        output.WriteLine($"control: {reported ?? "nothing"}; the others: {string.Join(" | ", quiet.Requests)}");
        Assert.NotNull(reported);
        Assert.Contains("masstransit", reported, StringComparison.OrdinalIgnoreCase);
        Assert.All(_processes, p => Assert.True(p.Running, $"{p.Name} exited: {File.ReadAllText(p.Log)}"));
        Assert.Empty(quiet.Requests);
        // Nor does anything leave a device id behind for a later report (ONNX Runtime's telemetry keeps one there).
        Assert.False(Directory.Exists(Path.Combine(_work.FullName, "xdg-cache", "Microsoft")), "something wrote ~/.cache/Microsoft");
    }

    // Where ./msaas keeps the model ($MSAAS_CACHE, else $XDG_CACHE_HOME/msaas, else ~/.cache/msaas).
    private static string AssetCache => Environment.GetEnvironmentVariable("MSAAS_CACHE") is { Length: > 0 } cache ? cache
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "msaas");

    public void Dispose()
    {
        foreach (var process in _processes) process.Dispose();
        _work.Delete(recursive: true);
    }

    private void Start(string name, string[] command, Dictionary<string, string> environment, ProxyRecorder proxy)
    {
        var withProxy = new Dictionary<string, string>(environment)
        {
            ["HTTP_PROXY"] = proxy.Url, ["HTTPS_PROXY"] = proxy.Url, ["ALL_PROXY"] = proxy.Url,
            ["http_proxy"] = proxy.Url, ["https_proxy"] = proxy.Url, ["all_proxy"] = proxy.Url,
            // The test's own servers are on loopback and reached directly; everything else would go to the recorder.
            ["NO_PROXY"] = "127.0.0.1,localhost", ["no_proxy"] = "127.0.0.1,localhost",
            // A cache of its own, where a telemetry client would keep its state; the model stays where it was fetched.
            ["XDG_CACHE_HOME"] = Path.Combine(_work.FullName, "xdg-cache"), ["MSAAS_CACHE"] = AssetCache,
        };
        _processes.Add(ServiceProcess.Start(name, command, withProxy, _work.FullName));
    }

    /// <summary>A proxy that answers nothing: it records the first line of every request (CONNECT host:443 ...).</summary>
    private sealed class ProxyRecorder : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();

        public ProxyRecorder()
        {
            _listener.Start();
            _ = Task.Run(AcceptAsync);
        }

        public string Url => $"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}";

        public ConcurrentQueue<string> Requests { get; } = new();

        public async Task<string?> WaitForAsync(TimeSpan within)
        {
            var until = DateTime.UtcNow + within;
            while (Requests.IsEmpty && DateTime.UtcNow < until) await Task.Delay(250);
            return Requests.TryPeek(out var first) ? first : null;
        }

        public void Dispose()
        {
            _stop.Cancel();
            _listener.Stop();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    using var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                    using var reader = new StreamReader(client.GetStream(), Encoding.ASCII);
                    var line = await reader.ReadLineAsync(_stop.Token).AsTask().WaitAsync(TimeSpan.FromSeconds(5));
                    Requests.Enqueue(line ?? "(a connection with no request)");
                }
                catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
                {
                    if (_stop.IsCancellationRequested) return;
                }
                catch (Exception e) when (e is IOException or TimeoutException)
                {
                    Requests.Enqueue("(a connection: " + e.Message + ")");
                }
            }
        }
    }
}
