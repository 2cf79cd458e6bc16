using System.Diagnostics.Metrics;
using MSaaS.ServiceDefaults;

namespace MSaaS.Notifications;

/// <summary>The notification service's instruments (meter "MSaaS.Notifications"; Prometheus names msaas_webhook_*).</summary>
public static class WebhookMetrics
{
    public const string MeterName = MsaasTelemetry.MeterPrefix + ".Notifications";

    private static readonly Meter Meter = new(MeterName);

    /// <summary>
    /// Each try of a webhook request, by outcome: "delivered" (2xx), "rejected" (a 4xx the client meant), "failed" (5xx,
    /// 408 or 429: retried) or "error" (no answer: refused connection, timeout, forbidden address).
    /// </summary>
    public static readonly KnownTagCounter Attempts = new(Meter, "msaas.webhook.attempts", "{attempt}",
        "Webhook requests tried, by outcome", "outcome", "delivered", "rejected", "failed", "error");

    /// <summary>One delivery, all its tries and backoff included, by outcome: "delivered" or "failed".</summary>
    public static readonly Histogram<double> Duration = Meter.CreateHistogram("msaas.webhook.duration", "s",
        "Time to deliver one webhook, retries included", advice: MsaasTelemetry.Buckets(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300));

    /// <summary>The outcome tag of one try.</summary>
    public static string Outcome(int? status) => status switch
    {
        null => "error",
        >= 200 and < 300 => "delivered",
        >= 500 or 408 or 429 => "failed",
        _ => "rejected",
    };
}
