using System.ComponentModel.DataAnnotations;

namespace MSaaS.Cli.Hosting;

/// <summary>The message bus (configuration section "Bus").</summary>
public sealed class BusOptions
{
    public const string Section = "Bus";

    /// <summary>InMemory: every stage in this process (the embedded mode); RabbitMq: the distributed mode.</summary>
    public BusTransport Transport { get; set; } = BusTransport.InMemory;

    /// <summary>
    /// Let MassTransit report anonymous usage telemetry to its vendor over the internet. Off: a service in a customer's
    /// cluster calls out to nobody unasked.
    /// </summary>
    public bool UsageTelemetry { get; set; }

    /// <summary>When MassTransit sends its report after the bus starts, with <see cref="UsageTelemetry"/> on (30 s to 30 min; its default is 5 min).</summary>
    [Range(typeof(TimeSpan), "00:00:30", "00:30:00")]
    public TimeSpan? UsageTelemetryDelay { get; set; }
}

public enum BusTransport
{
    InMemory,
    RabbitMq,
}

/// <summary>Where RabbitMQ is (configuration section "RabbitMq"), for <see cref="BusTransport.RabbitMq"/>.</summary>
public sealed class RabbitMqOptions
{
    public const string Section = "RabbitMq";

    [Required(AllowEmptyStrings = false)]
    public string Host { get; set; } = "localhost";

    [Range(1, 65535)]
    public int Port { get; set; } = 5672;

    [Required(AllowEmptyStrings = false)]
    public string VirtualHost { get; set; } = "/";

    [Required(AllowEmptyStrings = false)]
    public string Username { get; set; } = "guest";

    public string Password { get; set; } = "guest";
}

/// <summary>Redis (configuration section "Redis"): sagas, the webhook ledger and the legacy lists when set.</summary>
public sealed class RedisOptions : IValidatableObject
{
    public const string Section = "Redis";

    /// <summary>A StackExchange.Redis configuration string, e.g. "redis:6379,password=..."; empty: no Redis.</summary>
    public string? Configuration { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (string.IsNullOrEmpty(Configuration)) yield break;
        string? error = null;
        try
        {
            _ = StackExchange.Redis.ConfigurationOptions.Parse(Configuration);
        }
        catch (ArgumentException e)
        {
            error = e.Message;
        }
        if (error is not null) yield return new ValidationResult(error, [nameof(Configuration)]);
    }
}
