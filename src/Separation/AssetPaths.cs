namespace MSaaS.Separation;

/// <summary>The cache that eng/fetch-assets.sh fills: $MSAAS_CACHE, else $XDG_CACHE_HOME/msaas, else ~/.cache/msaas.</summary>
public static class AssetPaths
{
    public const string DefaultModelSha256 = "da9e5101ee0804d04933974b59d8aae9c862e80e14f2f24e7c74cae76bdbe748";

    public static string CacheDirectory
    {
        get
        {
            var explicitCache = Environment.GetEnvironmentVariable("MSAAS_CACHE");
            if (!string.IsNullOrEmpty(explicitCache)) return explicitCache;
            var xdg = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
            var root = string.IsNullOrEmpty(xdg)
                ? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache")
                : xdg;
            return Path.Combine(root, "msaas");
        }
    }

    public static string DefaultModel => Path.Combine(CacheDirectory, "models", "htdemucs.onnx");
}
