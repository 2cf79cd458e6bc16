using System.Diagnostics;
using MSaaS.ServiceDefaults;

namespace MSaaS.ServiceDefaults.Tests;

/// <summary>Work directories left by processes that are gone are removed; those of processes still running are kept.</summary>
public sealed class ScratchDirectories_Specs : IDisposable
{
    // A purpose and owners of this run alone, so that no other spec's directories or locks are looked at.
    private readonly string _purpose = "spec" + Guid.NewGuid().ToString("N")[..10];
    private readonly string _running = $"4000001.{Guid.NewGuid():N}";
    private readonly Process _holder;

    public ScratchDirectories_Specs()
    {
        // Another process holding an owner's lock, as a running msaas process holds its own (util-linux flock takes the
        // same kind of lock as .NET's FileShare.None).
        _holder = Process.Start(new ProcessStartInfo("flock", [LockPath(_running), "sleep", "60"]) { UseShellExecute = false })!;
    }

    public void Dispose()
    {
        _holder.Kill();
        _holder.WaitForExit();
        _holder.Dispose();
        File.Delete(LockPath(_running));
        foreach (var left in Directory.EnumerateDirectories(Path.GetTempPath(), $"msaas-{_purpose}-*")) Directory.Delete(left, recursive: true);
    }

    [Fact]
    public async Task Should_remove_the_directories_of_owners_that_ended_and_keep_those_of_owners_that_run()
    {
        await WaitUntilHeld(LockPath(_running));
        var mine = ScratchDirectories.Create(_purpose).FullName;
        var running = Make(_running);
        var ended = $"{Environment.ProcessId}.{Guid.NewGuid():N}"; // an earlier process with this PID (a restarted container)
        File.WriteAllBytes(LockPath(ended), []);                   // its lock file left, no longer held
        var endedDirectory = Make(ended);
        var noLockFile = Make($"{_holder.Id}.{Guid.NewGuid():N}"); // a running PID, but not that owner
        var olderVersionRunning = Make($"{_holder.Id}");           // named by the PID alone: judged by the PID
        var olderVersionMine = Make($"{Environment.ProcessId}");   // this process names none so: an earlier one's
        var olderVersionGone = Make($"{int.MaxValue}");
        var unknown = Make("not-an-owner");

        var removed = ScratchDirectories.RemoveStale(_purpose);

        Assert.Equal(new[] { endedDirectory, noLockFile, olderVersionMine, olderVersionGone }.Order(), removed.Order());
        Assert.All(new[] { mine, running, olderVersionRunning, unknown }, d => Assert.True(Directory.Exists(d), d));
        Assert.False(File.Exists(LockPath(ended)), "an ended owner's lock file stays");
        Assert.True(File.Exists(LockPath(_running)));
    }

    private string Make(string owner) => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"msaas-{_purpose}-{owner}-x{Guid.NewGuid():N}")).FullName;

    private static string LockPath(string owner) => Path.Combine(Path.GetTempPath(), $"msaas-owner-{owner}.lock");

    private static async Task WaitUntilHeld(string path)
    {
        for (var waited = Stopwatch.StartNew(); waited.Elapsed < TimeSpan.FromSeconds(10); await Task.Delay(20))
        {
            try
            {
                using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            }
            catch (FileNotFoundException)
            {
                // flock has not made it yet
            }
            catch (IOException)
            {
                return;
            }
        }
        throw new TimeoutException($"flock did not take {path}");
    }
}
