using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using MSaaS.Testing;

namespace MSaaS.Distributed.Tests;

/// <summary>
/// The README's commands for `msaas serve`, run as written there (its host and port, song.mp3 and &lt;hash&gt; put in),
/// against a real `msaas serve`: they cannot rot unnoticed.
/// </summary>
[Trait("Category", "Distributed")]
public sealed partial class ReadmeCommands_Specs : IDisposable
{
    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("msaas-readme-");
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(10) };

    public void Dispose()
    {
        _http.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task Should_separate_a_song_with_the_readmes_curl_commands()
    {
        var readme = await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md"));
        var block = CodeBlocks().Matches(readme).Select(m => m.Groups[1].Value).Single(b => b.Contains("./msaas serve", StringComparison.Ordinal));
        var commands = block.Split('\n').Where(l => l.StartsWith("curl ", StringComparison.Ordinal)).Select(WithoutComment).ToList();
        var json = InlineCode().Matches(readme).Select(m => m.Groups[1].Value).Single(c => c.Contains("--data-binary @-", StringComparison.Ordinal));
        Assert.Equal(4, commands.Count);
        File.Copy((await TestData.SongOf(8)).Mp3, Path.Combine(_work.FullName, "song.mp3"));
        using var serve = ServiceProcess.Start("serve", ["serve"], new Dictionary<string, string>
        {
            ["MSAAS_Storage__Root"] = Path.Combine(_work.FullName, "store"), ["MSAAS_Separation__Threads"] = "1",
        }, _work.FullName);
        await serve.WaitReadyAsync(_http);

        var submitted = JsonDocument.Parse(await Run(commands[0], serve)).RootElement;
        var hash = submitted.GetProperty("hash").GetString()!;
        Assert.Equal(hash, JsonDocument.Parse(await Run(json, serve)).RootElement.GetProperty("hash").GetString()); // the same song
        await Run(commands[2], serve, hash); // the live stem: it ends when the stem is complete
        var live = new FileInfo(Path.Combine(_work.FullName, "live.mp3"));
        Assert.True(live.Exists && live.Length > 10_000, "no live.mp3");
        var until = DateTime.UtcNow + TimeSpan.FromMinutes(3);
        string state;
        while ((state = JsonDocument.Parse(await Run(commands[1], serve, hash)).RootElement.GetProperty("state").GetString()!) != "Completed")
        {
            Assert.True(DateTime.UtcNow < until, $"still {state} after 3 minutes");
            await Task.Delay(500); // the next look at the status route
        }
        await Run(commands[3], serve, hash);

        var vocals = new FileInfo(Path.Combine(_work.FullName, "vocals.mp3"));
        Assert.True(vocals.Exists && vocals.Length > 10_000, "no vocals.mp3");
        Assert.Equal(vocals.Length, live.Length); // the same stem, but for its LAME tag's bytes
        await serve.StopAsync();
    }

    // Runs a README command in the work directory, against this serve and this song's hash; returns what it printed.
    private async Task<string> Run(string command, ServiceProcess serve, string? hash = null)
    {
        var line = command.Replace("localhost:5000", serve.Url, StringComparison.Ordinal);
        if (hash is not null) line = line.Replace("<hash>", hash, StringComparison.Ordinal);
        var info = new ProcessStartInfo("bash", ["-c", line]) { WorkingDirectory = _work.FullName, RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(info)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"`{line}` exited with {process.ExitCode}: {await errors}");
        return await output;
    }

    private static string WithoutComment(string line) => line.Split(" #")[0].Trim();

    [GeneratedRegex(@"```sh\n(.*?)```", RegexOptions.Singleline)]
    private static partial Regex CodeBlocks();

    [GeneratedRegex(@"`([^`\n]+)`")]
    private static partial Regex InlineCode();
}
