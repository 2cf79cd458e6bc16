using System.ComponentModel.DataAnnotations;

namespace MSaaS.Storage;

/// <summary>Where songs and stems are kept (configuration section "Storage").</summary>
public sealed class StorageOptions : IValidatableObject
{
    public const string Section = "Storage";

    /// <summary>Local (a directory; the embedded mode) or S3 (MinIO or any S3 server; the distributed mode).</summary>
    public StorageKind Kind { get; set; } = StorageKind.Local;

    /// <summary>The local store's directory; default: <see cref="DataDirectory"/>/store (~/.local/share/msaas/store).</summary>
    public string Root { get; set; } = DataDirectory.Default is { Length: > 0 } data ? Path.Combine(data, "store") : "";

    public S3Options S3 { get; set; } = new();

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Kind == StorageKind.Local && string.IsNullOrWhiteSpace(Root))
            yield return new ValidationResult("the local store needs a directory: set it, or XDG_DATA_HOME or HOME", [nameof(Root)]);
        if (Kind != StorageKind.S3) yield break;
        if (!Uri.TryCreate(S3.Endpoint, UriKind.Absolute, out var endpoint) || endpoint.Scheme is not ("http" or "https"))
            yield return new ValidationResult($"'{S3.Endpoint}' is not an http or https URL", ["S3:Endpoint"]);
        if (string.IsNullOrEmpty(S3.AccessKey)) yield return new ValidationResult("is required for S3 storage", ["S3:AccessKey"]);
        if (string.IsNullOrEmpty(S3.SecretKey)) yield return new ValidationResult("is required for S3 storage", ["S3:SecretKey"]);
        foreach (var result in S3.Validate())
            yield return new ValidationResult(result.ErrorMessage, result.MemberNames.Select(m => "S3:" + m));
    }
}

public enum StorageKind
{
    Local,
    S3,
}
