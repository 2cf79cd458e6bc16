namespace MSaaS.Cli;

/// <summary>The song benchmarks use unless told otherwise: ../shared/fixtures/real/demucs-test.mp3.</summary>
internal static class BenchmarkSongs
{
    public static string Default()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "..", "shared", "fixtures", "real", "demucs-test.mp3");
            if (File.Exists(Path.Combine(dir.FullName, "MSaaS.sln")) && File.Exists(candidate)) return Path.GetFullPath(candidate);
        }
        throw new FileNotFoundException("no default benchmark song found (../shared/fixtures/real/demucs-test.mp3); pass --input");
    }
}
