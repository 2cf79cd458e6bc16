using System.Diagnostics.Metrics;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// A counter whose series exist from the first scrape, at 0, for every value its one tag can take: Prometheus' rate() and
/// increase() only see an event in a series that existed before it, so a counter created by its first event would hide
/// that event (the first failure after a restart would never alert). Values outside the list count as "other".
/// </summary>
public sealed class KnownTagCounter
{
    public const string Other = "other";

    private readonly string? _tag;
    private readonly string[] _values;
    private readonly long[] _counts;

    /// <summary>A counter with one tag, <paramref name="tag"/>, taking <paramref name="values"/> (and "other").</summary>
    public KnownTagCounter(Meter meter, string name, string unit, string description, string tag, params string[] values)
    {
        _tag = tag;
        _values = [.. values, Other];
        _counts = new long[_values.Length];
        meter.CreateObservableCounter(name, Observe, unit, description);
    }

    /// <summary>A counter without tags.</summary>
    public KnownTagCounter(Meter meter, string name, string unit, string description)
    {
        _values = [""];
        _counts = new long[1];
        meter.CreateObservableCounter(name, Observe, unit, description);
    }

    /// <summary>Counts one event with the tag value <paramref name="value"/> (none for a counter without tags).</summary>
    public void Add(string? value = null) => Interlocked.Increment(ref _counts[IndexOf(value)]);

    /// <summary>The count so far for <paramref name="value"/>.</summary>
    public long Count(string? value = null) => Volatile.Read(ref _counts[IndexOf(value)]);

    private int IndexOf(string? value)
    {
        if (_tag is null) return 0;
        var i = Array.IndexOf(_values, value);
        return i < 0 ? _values.Length - 1 : i;
    }

    private IEnumerable<Measurement<long>> Observe()
    {
        for (var i = 0; i < _values.Length; i++)
            yield return _tag is null
                ? new Measurement<long>(Volatile.Read(ref _counts[i]))
                : new Measurement<long>(Volatile.Read(ref _counts[i]), new KeyValuePair<string, object?>(_tag, _values[i]));
    }
}
