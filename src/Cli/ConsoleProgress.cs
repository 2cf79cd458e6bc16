using System.Diagnostics;

namespace MSaaS.Cli;

/// <summary>
/// A progress bar on stderr when it is a terminal; otherwise, for logs, a line each time the status changes and each
/// time the progress passes another <see cref="LogStep"/> (a 3-hour song is an hour of "separating").
/// </summary>
internal sealed class ConsoleProgress(TextWriter output, bool terminal) : IDisposable
{
    /// <summary>The share of the work between two lines of a log.</summary>
    public const double LogStep = 0.05;

    private const int Width = 30;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private string _last = "";
    private int _lastStep = -1;
    private bool _drawn;

    public ConsoleProgress() : this(Console.Error, !Console.IsErrorRedirected)
    {
    }

    public void Update(double fraction, string status)
    {
        fraction = Math.Clamp(fraction, 0, 1);
        var elapsed = _clock.Elapsed;
        var eta = fraction is > 0.02 and < 1 ? TimeSpan.FromSeconds(elapsed.TotalSeconds / fraction * (1 - fraction)) : (TimeSpan?)null;
        var text = $"{status}, {Clock(elapsed)} elapsed" + (eta is { } e ? $", about {Clock(e)} left" : "");
        if (terminal)
        {
            var filled = (int)Math.Round(fraction * Width);
            output.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {fraction,4:P0} {text}\u001b[K");
            _drawn = true;
        }
        else if (status != _last || (int)(fraction / LogStep) != _lastStep)
        {
            output.WriteLine($"{fraction,4:P0} {text}");
        }
        (_last, _lastStep) = (status, (int)(fraction / LogStep));
    }

    public void Dispose()
    {
        if (_drawn) output.WriteLine();
        _drawn = false;
    }

    // m:ss, and h:mm:ss from an hour on (a long song's separation).
    private static string Clock(TimeSpan span) => span.TotalHours >= 1 ? span.ToString(@"h\:mm\:ss") : span.ToString(@"m\:ss");
}
