using System.ComponentModel.DataAnnotations;

namespace MSaaS.Notifications;

/// <summary>Webhook delivery (configuration section "Webhooks").</summary>
public sealed class WebhookOptions : IValidatableObject
{
    public const string Section = "Webhooks";

    /// <summary>
    /// The secret every webhook is signed with (Standard Webhooks: <c>whsec_</c> and the base64 of 24 to 64 random
    /// bytes, e.g. <c>echo whsec_$(openssl rand -base64 32)</c>); unset, webhooks go unsigned. Kept in a Secret on
    /// Kubernetes, never in the ConfigMap.
    /// </summary>
    public string? SigningSecret { get; set; }

    /// <summary>
    /// Allow loopback, private, link-local and metadata addresses. Off in the distributed profile (callback URLs
    /// come from anonymous clients); on in the embedded mode, where the legacy client registers localhost:5000.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>Tries in all, the first included.</summary>
    [Range(1, 20)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Median wait before the second try; it doubles for each try after, with random jitter.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00")]
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long one try may take, connection included.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// The circuit of one host opens when at least this share of its calls failed within <see cref="BreakerSamplingWindow"/>
    /// (and at least <see cref="BreakerMinimumCalls"/> were made); while it is open, webhooks to that host fail at
    /// once for <see cref="BreakerDuration"/> instead of waiting on a server that is down.
    /// </summary>
    [Range(0.01, 1.0)]
    public double BreakerFailureRatio { get; set; } = 0.8;

    [Range(2, 10_000)]
    public int BreakerMinimumCalls { get; set; } = 10;

    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerSamplingWindow { get; set; } = TimeSpan.FromSeconds(60);

    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakerDuration { get; set; } = TimeSpan.FromSeconds(30);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (SigningSecret is not { Length: > 0 } secret) yield break;
        var key = secret.StartsWith("whsec_", StringComparison.Ordinal) ? secret["whsec_".Length..] : null;
        var bytes = new byte[key?.Length ?? 0];
        if (key is null || !Convert.TryFromBase64String(key, bytes, out var length) || length is < 24 or > 64)
            yield return new ValidationResult("must be whsec_ and the base64 of 24 to 64 random bytes (echo whsec_$(openssl rand -base64 32))",
                [nameof(SigningSecret)]);
    }
}
