namespace MSaaS.Api;

/// <summary>The REST API's settings (configuration section "Api").</summary>
public sealed class ApiOptions
{
    public const string Section = "Api";

    /// <summary>Largest request body accepted; above it the answer is 413. The reference ingress takes 16 MiB.</summary>
    public long MaxRequestBytes { get; set; } = 64L << 20;

    /// <summary>The key support staff send as X-Api-Key; the support routes answer 403 while none is configured.</summary>
    public string? SupportApiKey { get; set; }

    /// <summary>Accept callbacks to loopback/private/link-local addresses (the embedded mode on one's own machine).</summary>
    public bool AllowPrivateCallbacks { get; set; }

    /// <summary>How often the progress stream looks at the song.</summary>
    public TimeSpan ProgressInterval { get; set; } = TimeSpan.FromMilliseconds(500);
}
