namespace MSaaS.Notifications;

/// <summary>Webhook delivery (configuration section "Webhooks").</summary>
public sealed class WebhookOptions
{
    public const string Section = "Webhooks";

    /// <summary>
    /// Allow loopback, private, link-local and metadata addresses. Off in the distributed profile (callback URLs
    /// come from anonymous clients); on in the embedded mode, where the legacy client registers localhost:5000.
    /// </summary>
    public bool AllowPrivateTargets { get; set; }

    /// <summary>Tries in all, the first included.</summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>Wait before the second try; doubled for each try after.</summary>
    public TimeSpan FirstBackoff { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan Timeout { get; set; } = TimeSpan.FromSeconds(10);
}
