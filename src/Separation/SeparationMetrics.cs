using System.Diagnostics.Metrics;
using MSaaS.ServiceDefaults;

namespace MSaaS.Separation;

/// <summary>The separation service's instruments (meter "MSaaS.Separation"; Prometheus names msaas_separation_*, msaas_onnx_*).</summary>
public static class SeparationMetrics
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Separation";

    private static readonly Meter Meter = new(MeterName);
    private static int _ready;
    private static int _active;

    /// <summary>
    /// Wall time of one song's separation (decoding and storing the stems excluded), songs separated only; when the worker
    /// encodes while separating, the encoders' tail is in it (and in <see cref="EncoderWait"/>).
    /// </summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram("msaas.separation.duration", "s",
        "Time to separate one song into its stems", advice: MsaasTelemetry.StageSeconds);

    /// <summary>Separation time over the song's duration: 0.5 separates a 3-minute song in 90 s.</summary>
    public static readonly Histogram<double> RealTimeFactor = Meter.CreateHistogram<double>("msaas.separation.realtime_factor", null,
        "Separation time divided by the song's duration", advice: MsaasTelemetry.Buckets(0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5));

    /// <summary>
    /// How long one song's separation waited for its MP3 encoders (encoding while separating): blocked on their full
    /// queues, plus the tail after the model's last block. Near 0 while LAME keeps up with the model.
    /// </summary>
    public static readonly Histogram<double> EncoderWait = Meter.CreateHistogram("msaas.separation.encoder_wait", "s",
        "Time one song's separation waited for its MP3 encoders", advice: MsaasTelemetry.Buckets(0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60));

    /// <summary>Time inside ONNX Runtime's Run for one model segment (7.8 s of audio).</summary>
    public static readonly Histogram<double> OnnxRun = Meter.CreateHistogram("msaas.onnx.run.duration", "s",
        "Time inside ONNX Runtime for one model segment", advice: MsaasTelemetry.Buckets(0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 20));

    /// <summary>Songs refused before separation, by reason: "not_audio", or "gone" from storage.</summary>
    public static readonly KnownTagCounter Refused = new(Meter, "msaas.separation.refused", "{song}",
        "Songs the separation service refused without separating them", "reason", "not_audio", "gone");

    static SeparationMetrics()
    {
        Meter.CreateObservableGauge("msaas.separation.ready", () => Volatile.Read(ref _ready), "{worker}",
            "1 when this process has its model loaded and takes songs");
        Meter.CreateObservableUpDownCounter("msaas.separation.active", () => Volatile.Read(ref _active), "{song}",
            "Songs this process is separating now");
    }

    /// <summary>This process has its model loaded: it counts as a ready worker.</summary>
    public static void ModelReady() => Volatile.Write(ref _ready, 1);

    /// <summary>Counts a song as being separated until the returned handle is disposed.</summary>
    public static IDisposable Separating()
    {
        Interlocked.Increment(ref _active);
        return new Done();
    }

    private sealed class Done : IDisposable
    {
        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0) Interlocked.Decrement(ref _active);
        }
    }
}
