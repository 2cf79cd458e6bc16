namespace MSaaS.Distributed.Tests;

/// <summary>
/// `msaas serve` on a machine where the data directory has never been made (a new container or user): it makes it
/// where the XDG rules say, never under the working directory.
/// </summary>
[Trait("Category", "Distributed")]
public sealed class FreshHome_Specs : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-home-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _work.Delete(recursive: true);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Should_start_with_a_home_that_has_no_data_directory_yet(bool xdgDataHome)
    {
        var home = Directory.CreateDirectory(Path.Combine(_work.FullName, "home")).FullName;
        var xdg = Path.Combine(_work.FullName, "not", "made", "yet");
        // The working directory holds a file named msaas, as the repository does: a data path relative to it cannot be made.
        var cwd = Directory.CreateDirectory(Path.Combine(_work.FullName, "cwd")).FullName;
        await File.WriteAllTextAsync(Path.Combine(cwd, "msaas"), "#!/bin/sh\n");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home, ["XDG_DATA_HOME"] = xdgDataHome ? xdg : "", ["MSAAS_Separation__Threads"] = "1",
            ["MSAAS_CACHE"] = ModelCache, // the model this machine fetched: a new home has no cache either
        };
        using var serve = ServiceProcess.Start("serve", ["serve"], environment, _work.FullName, workingDirectory: cwd);

        await serve.WaitReadyAsync(_http);
        using var reply = await _http.GetAsync(serve.Url + "/apiv1/queue"); // read from the saga store

        Assert.Equal(System.Net.HttpStatusCode.OK, reply.StatusCode);
        var data = xdgDataHome ? Path.Combine(xdg, "msaas") : Path.Combine(home, ".local", "share", "msaas");
        Assert.True(Directory.Exists(Path.Combine(data, "store", "sagas")), $"no sagas under {data}; the log:\n{Log(serve)}");
        Assert.True(Directory.Exists(Path.Combine(data, "store", "queue")), $"no upload bucket under {data}");
        Assert.Equal(["msaas"], Directory.EnumerateFileSystemEntries(cwd).Select(Path.GetFileName));
        await serve.StopAsync();
    }

    // eng/fetch-assets.sh's cache, as the msaas command finds it from this process's environment.
    private static string ModelCache =>
        Environment.GetEnvironmentVariable("MSAAS_CACHE") is { Length: > 0 } cache ? cache
        : Path.Combine(Environment.GetEnvironmentVariable("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache"), "msaas");

    private static string Log(ServiceProcess process) => File.Exists(process.Log) ? File.ReadAllText(process.Log) : "";
}
