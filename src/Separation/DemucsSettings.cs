using MSaaS.Separation.Onnx;

namespace MSaaS.Separation;

/// <summary>Where the model is, and how to run it.</summary>
public sealed record DemucsSettings
{
    /// <summary>The htdemucs ONNX file. Defaults to the copy fetched by eng/fetch-assets.sh.</summary>
    public string ModelPath { get; init; } = AssetPaths.DefaultModel;

    /// <summary>Expected sha256 of <see cref="ModelPath"/>; null to skip the check (an operator's own model).</summary>
    public string? ModelSha256 { get; init; } = AssetPaths.DefaultModelSha256;

    public OrtSessionSettings Session { get; init; } = new();

    /// <summary>Settings for a model given by path alone: its checksum is not known, its interface is still checked.</summary>
    public DemucsSettings WithModel(string? path) =>
        path is null ? this : this with { ModelPath = Path.GetFullPath(path), ModelSha256 = null };
}
