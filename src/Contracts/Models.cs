namespace MSaaS.Contracts;

/// <summary>
/// Model names clients send. Every demucs model name maps to htdemucs, the model this service runs; the
/// answer says which model ran. Names that are no demucs model at all are refused.
/// </summary>
public static class Models
{
    public const string Default = "htdemucs";

    private static readonly HashSet<string> Known = new(StringComparer.OrdinalIgnoreCase)
    {
        "htdemucs", "htdemucs_ft", "htdemucs_6s", "hdemucs_mmi", "mdx", "mdx_extra", "mdx_q", "mdx_extra_q",
        "repro_mdx_a", "repro_mdx_a_time_only", "repro_mdx_a_hybrid_only", "demucs", "demucs_extra", "demucs48_hq",
        "demucs_quantized", "tasnet", "tasnet_extra", "light", "light_extra",
    };

    public static IReadOnlyCollection<string> Names => Known;

    /// <summary>The model that will run for <paramref name="requested"/>, or null when the name is unknown.</summary>
    public static string? Resolve(string? requested) =>
        string.IsNullOrWhiteSpace(requested) ? Default : Known.Contains(requested.Trim()) ? Default : null;
}
