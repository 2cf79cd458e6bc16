using System.Diagnostics;
using MSaaS.Separation;

namespace MSaaS.Cli;

/// <summary>A progress bar on stderr when it is a terminal; otherwise a plain line per step, for logs.</summary>
internal sealed class ConsoleProgress(string label) : IProgress<SeparationProgress>, IDisposable
{
    private const int Width = 30;
    private readonly bool _terminal = !Console.IsErrorRedirected;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private readonly Lock _lock = new();
    private int _lastDone = -1;
    private bool _drawn;

    public void Report(SeparationProgress value)
    {
        lock (_lock)
        {
            if (value.SegmentsDone == _lastDone) return;
            _lastDone = value.SegmentsDone;
            var elapsed = _clock.Elapsed;
            var eta = value.SegmentsDone > 0
                ? TimeSpan.FromSeconds(elapsed.TotalSeconds / value.SegmentsDone * (value.SegmentsTotal - value.SegmentsDone))
                : (TimeSpan?)null;
            var text = $"{label} {value.SegmentsDone}/{value.SegmentsTotal} segments, {elapsed:m\\:ss} elapsed" +
                       (eta is { } e && value.SegmentsDone < value.SegmentsTotal ? $", about {e:m\\:ss} left" : "");
            if (_terminal)
            {
                var filled = (int)Math.Round(value.Fraction * Width);
                Console.Error.Write($"\r[{new string('#', filled)}{new string('.', Width - filled)}] {value.Fraction,4:P0} {text}\u001b[K");
                _drawn = true;
            }
            else
            {
                Console.Error.WriteLine($"{value.Fraction,4:P0} {text}");
            }
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_drawn) Console.Error.WriteLine();
            _drawn = false;
        }
    }
}
