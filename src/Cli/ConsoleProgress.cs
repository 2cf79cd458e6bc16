using System.Diagnostics;

namespace MSaaS.Cli;

/// <summary>A progress bar on stderr when it is a terminal; otherwise a line each time the status changes, for logs.</summary>
internal sealed class ConsoleProgress : IDisposable
{
    private const int Width = 30;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string _last = "";
    private bool _drawn;

    public void Update(double fraction, string status)
    {
        fraction = Math.Clamp(fraction, 0, 1);
        var elapsed = _clock.Elapsed;
        var eta = fraction is > 0.02 and < 1 ? TimeSpan.FromSeconds(elapsed.TotalSeconds / fraction * (1 - fraction)) : (TimeSpan?)null;
        var text = $"{status}, {elapsed:m\\:ss} elapsed" + (eta is { } e ? $", about {e:m\\:ss} left" : "");
        if (_terminal)
        {
            var filled = (int)Math.Round(fraction * Width);
            Console.Error.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0} {text}\u001b[K");
            _drawn = true;
        }
        else if (status != _last)
        {
            Console.Error.WriteLine($"{fraction,4:P0} {status}");
        }
        _last = status;
    }

    public void Dispose()
    {
        if (_drawn) Console.Error.WriteLine();
        _drawn = false;
    }
}
