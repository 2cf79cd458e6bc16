using System.ComponentModel.DataAnnotations;

namespace MSaaS.Api.Compat;

/// <summary>The legacy Redis interface (configuration section "Compat"): the toWorker queue and the logging list.</summary>
public sealed class CompatOptions
{
    public const string Section = "Compat";

    /// <summary>Read "toWorker" and write "logging" in the Redis of Redis:Configuration (database 0).</summary>
    public bool Enabled { get; set; }

    [Required(AllowEmptyStrings = false)]
    public string QueueKey { get; set; } = "toWorker";

    [Required(AllowEmptyStrings = false)]
    public string LoggingKey { get; set; } = "logging";

    /// <summary>Longest the logging list may grow, so that no reader's absence can fill Redis.</summary>
    [Range(1, 1_000_000)]
    public int LoggingCap { get; set; } = 1000;

    /// <summary>This adapter's name for its in-progress list and heartbeat; defaults to the host name.</summary>
    public string? InstanceId { get; set; }

    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Longest the dead-letter list ("toWorker:dead") may grow: the oldest records go first.</summary>
    [Range(1, 1_000_000)]
    public int DeadLetterCap { get; set; } = 1000;

    /// <summary>
    /// How often a message may fail while the object store answers other look-ups before it is set aside: failures
    /// during an outage (store or bus away) are not counted, so an outage never sets good messages aside.
    /// </summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait after a failure, doubled after each further failure in a row, up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "00:10:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long an adapter's heartbeat lasts; after that, another adapter takes back its unfinished messages.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan OwnerTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
