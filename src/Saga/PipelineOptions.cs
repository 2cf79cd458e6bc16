using System.ComponentModel.DataAnnotations;

namespace MSaaS.Saga;

/// <summary>Deadlines and attempts of the song pipeline (configuration section "Pipeline").</summary>
public sealed class PipelineOptions
{
    public const string Section = "Pipeline";

    /// <summary>How long a stage's command may wait in its queue before a worker takes it.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "30.00:00:00")]
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How long a stage that has started may go without a sign of life (progress) before it is retried.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StallTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How long the webhook stage may take, its own retries included.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan NotifyTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Tries of one stage (the first included) before the song fails.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>
    /// Send the song's formats with its separation command, so that a worker with Separation:EncodeWhileSeparating
    /// stores the final stems itself and the song skips the encoding stage. On. During a rolling upgrade from a release
    /// before this setting, turn it off until every API replica runs this one: an older replica that takes the worker's
    /// answer does not know the stems are final.
    /// </summary>
    public bool EncodeWhileSeparating { get; set; } = true;

    /// <summary>How long a failed song is kept for support staff to look at or retry; then it is forgotten (saga and upload).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "365.00:00:00")]
    public TimeSpan FailedRetention { get; set; } = TimeSpan.FromDays(7);
}
