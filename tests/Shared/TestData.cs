using MSaaS.Synthesis;

namespace MSaaS.Testing;

/// <summary>
/// Where every test finds what it needs, all of it in this repository or made by it: the checkout's root, a
/// scratch folder of this test process, and the synthetic song (made once per test process by
/// <see cref="SyntheticSong"/>: drums, bass, chords and an espeak-ng voice, with its true stems).
/// </summary>
internal static class TestData
{
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<double, Lazy<Task<SongFiles>>> Songs = new();
    private static readonly Lazy<string> LazyScratch = new(CreateScratch);

    /// <summary>The checkout: the folder above the test binaries that holds MSaaS.sln.</summary>
    public static string RepositoryRoot { get; } = LocateRoot();

    /// <summary>The 20 s synthetic song, its mix also written as 16-bit WAV and 320 kbps MP3.</summary>
    public static Task<SongFiles> Song => SongOf(20);

    /// <summary>The synthetic song at another length (made once per length and process).</summary>
    public static Task<SongFiles> SongOf(double seconds) => Songs.GetOrAdd(seconds, s => new Lazy<Task<SongFiles>>(() => MakeSong(s))).Value;

    /// <summary>A path (not yet a file) in this process's scratch folder, removed when the process ends.</summary>
    public static string Temp(string name) => Path.Combine(LazyScratch.Value, $"{Guid.NewGuid():N}-{name}");

    private static async Task<SongFiles> MakeSong(double seconds)
    {
        var song = await SyntheticSong.CreateAsync(seconds);
        var wav = Temp("synthetic.wav");
        var mp3 = Temp("synthetic.mp3");
        await song.WriteMixAsync(wav, mp3);
        return new SongFiles(song, wav, mp3);
    }

    private static string CreateScratch()
    {
        var directory = Directory.CreateTempSubdirectory("msaas-tests-").FullName;
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        };
        return directory;
    }

    private static string LocateRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "MSaaS.sln"))) return dir.FullName;
        throw new DirectoryNotFoundException($"no MSaaS.sln above {AppContext.BaseDirectory}");
    }
}

/// <summary>The synthetic song and its mix as files.</summary>
internal sealed record SongFiles(SyntheticSong Song, string Wav, string Mp3);
