namespace MSaaS.Api.Compat;

/// <summary>The legacy Redis interface (configuration section "Compat"): the toWorker queue and the logging list.</summary>
public sealed class CompatOptions
{
    public const string Section = "Compat";

    /// <summary>Read "toWorker" and write "logging" in the Redis of Redis:Configuration (database 0).</summary>
    public bool Enabled { get; set; }

    public string QueueKey { get; set; } = "toWorker";

    public string LoggingKey { get; set; } = "logging";

    /// <summary>Longest the logging list may grow, so that no reader's absence can fill Redis.</summary>
    public int LoggingCap { get; set; } = 1000;

    /// <summary>This adapter's name for its in-progress list and heartbeat; defaults to the host name.</summary>
    public string? InstanceId { get; set; }

    public TimeSpan PollInterval { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How long an adapter's heartbeat lasts; after that, another adapter takes back its unfinished messages.</summary>
    public TimeSpan OwnerTimeout { get; set; } = TimeSpan.FromSeconds(30);
}
