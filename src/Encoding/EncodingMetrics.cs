using System.Diagnostics.Metrics;
using MSaaS.ServiceDefaults;

namespace MSaaS.Encoding;

/// <summary>The encoding service's instruments (meter "MSaaS.Encoding"; Prometheus names msaas_encoding_*).</summary>
public static class EncodingMetrics
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Encoding";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>Time to encode and store one song's four stems.</summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram("msaas.encoding.duration", "s",
        "Time to encode and store one song's stems", advice: MsaasTelemetry.StageSeconds);
}
