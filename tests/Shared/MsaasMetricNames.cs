using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;

namespace MSaaS.Testing;

/// <summary>
/// The series names under which the project's own instruments (meters "MSaaS.*") appear at /metrics, by the rules of
/// OpenTelemetry's Prometheus exporter: dots become underscores, a unit of seconds adds "_seconds" (units in braces
/// add nothing), counters end in "_total", histograms give "_bucket", "_sum" and "_count". The embedded end-to-end spec
/// checks these names against a real scrape; the deploy specs check the alerts and the dashboard against them.
/// </summary>
internal static partial class MsaasMetricNames
{
    /// <summary>Every series name of the instruments that <paramref name="holders"/> (static classes of instruments) create.</summary>
    public static IReadOnlySet<string> Of(params Type[] holders)
    {
        foreach (var holder in holders) RuntimeHelpers.RunClassConstructor(holder.TypeHandle);
        var names = new SortedSet<string>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, _) =>
            {
                if (instrument.Meter.Name.StartsWith("MSaaS.", StringComparison.Ordinal)) names.UnionWith(SeriesOf(instrument));
            },
        };
        listener.Start();
        return names;
    }

    private static IEnumerable<string> SeriesOf(Instrument instrument)
    {
        var name = Invalid().Replace(instrument.Name, "_");
        if (instrument.Unit == "s" && !name.EndsWith("_seconds", StringComparison.Ordinal)) name += "_seconds";
        var kind = instrument.GetType().GetGenericTypeDefinition();
        if (kind == typeof(Counter<>) || kind == typeof(ObservableCounter<>)) return [name + "_total"];
        if (kind == typeof(Histogram<>)) return [name + "_bucket", name + "_sum", name + "_count"];
        return [name]; // gauges and up-down counters
    }

    [GeneratedRegex("[^a-zA-Z0-9_:]")]
    private static partial Regex Invalid();
}
