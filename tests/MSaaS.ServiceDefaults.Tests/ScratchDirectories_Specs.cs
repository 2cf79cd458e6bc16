using System.Diagnostics;

namespace MSaaS.ServiceDefaults.Tests;

/// <summary>
/// Each process works under one root of its own; the roots of processes that are gone are removed, those of processes
/// still running are kept. The roots judged are made in a directory of this spec's own, so that no other process's are.
/// </summary>
public sealed class ScratchDirectories_Specs : IDisposable
{
    private readonly DirectoryInfo _temp = Directory.CreateTempSubdirectory("msaas-spec-");
    private readonly string _running;
    private readonly Process _holder;

    public ScratchDirectories_Specs()
    {
        // Another process holding its root's lock, as a running msaas process holds its own (util-linux flock takes the
        // same kind of lock as .NET's FileShare.None).
        _running = Root($"{Environment.ProcessId}.{Guid.NewGuid():N}"); // a PID like this one's: PIDs decide nothing
        _holder = Process.Start(new ProcessStartInfo("flock", [Path.Combine(_running, "owner.lock"), "sleep", "60"]) { UseShellExecute = false })!;
    }

    public void Dispose()
    {
        _holder.Kill();
        _holder.WaitForExit();
        _holder.Dispose();
        _temp.Delete(recursive: true);
    }

    [Fact]
    public async Task Should_remove_the_roots_of_processes_that_ended_and_keep_those_that_run()
    {
        await WaitUntilHeld(Path.Combine(_running, "owner.lock"));
        var ended = Root($"{_holder.Id}.{Guid.NewGuid():N}"); // its lock file left, no longer held (a running PID)
        await File.WriteAllBytesAsync(Path.Combine(ended, "owner.lock"), []);
        var noLock = Root($"4000001.{Guid.NewGuid():N}"); // a process whose file system keeps no locks
        await File.WriteAllBytesAsync(Path.Combine(noLock, "no-lock"), []);
        var nothing = Root($"4000002.{Guid.NewGuid():N}"); // neither: no process ever ran under it
        var starting = Directory.CreateDirectory(Path.Combine(_temp.FullName, $".msaas-starting-4000003.{Guid.NewGuid():N}")).FullName;
        var notARoot = Directory.CreateDirectory(Path.Combine(_temp.FullName, "msaas-home-x")).FullName; // a test's, another tool's

        var removed = ScratchDirectories.RemoveStale(_temp.FullName);

        Assert.Equal(new[] { ended, nothing }.Order(), removed.Order());
        Assert.All(new[] { _running, noLock, starting, notARoot }, d => Assert.True(Directory.Exists(d), d));
    }

    [Fact]
    public void Should_keep_this_processs_own_root_and_work_under_it()
    {
        var mine = ScratchDirectories.Create("spec");

        ScratchDirectories.RemoveStale();

        Assert.True(mine.Exists);
        Assert.Equal(ScratchDirectories.RootPath, mine.Parent!.FullName);
        Assert.True(File.Exists(Path.Combine(ScratchDirectories.RootPath, "owner.lock")));
        mine.Delete();
    }

    private string Root(string owner) => Directory.CreateDirectory(Path.Combine(_temp.FullName, $"msaas-scratch-{owner}")).FullName;

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
                return; // held
            }
        }
        throw new TimeoutException($"flock did not take {path}");
    }
}
