namespace MSaaS.Separation.Tests;

/// <summary>Finds ../shared (fixtures and reference data) beside the repository, or $MSAAS_SHARED.</summary>
internal static class Fixtures
{
    public static string Shared { get; } = Locate();

    public static string Path(params string[] parts) => System.IO.Path.Combine([Shared, .. parts]);

    /// <summary>Reads a raw little-endian float32 fixture.</summary>
    public static float[] ReadF32(params string[] parts)
    {
        var bytes = File.ReadAllBytes(Path(parts));
        var result = new float[bytes.Length / sizeof(float)];
        Buffer.BlockCopy(bytes, 0, result, 0, bytes.Length);
        return result;
    }

    private static string Locate()
    {
        var fromEnv = Environment.GetEnvironmentVariable("MSAAS_SHARED");
        if (!string.IsNullOrEmpty(fromEnv)) return fromEnv;
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "MSaaS.sln")))
                return System.IO.Path.GetFullPath(System.IO.Path.Combine(dir.FullName, "..", "shared"));
        }
        throw new DirectoryNotFoundException("no MSaaS.sln above the test binaries; set MSAAS_SHARED");
    }
}
