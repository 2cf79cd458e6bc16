using System.Diagnostics;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Tests;

/// <summary>Work directories left by processes that are gone are removed; those of processes still running are kept.</summary>
public sealed class ScratchDirectories_Specs : IDisposable
{
    // A purpose of this run alone, so that no other spec's directories are looked at.
    private readonly string _purpose = "spec" + Guid.NewGuid().ToString("N")[..10];
    private readonly Process _other = Process.Start(new ProcessStartInfo("sleep", "60") { UseShellExecute = false })!;

    public void Dispose()
    {
        _other.Kill();
        _other.Dispose();
        foreach (var left in Directory.EnumerateDirectories(Path.GetTempPath(), $"msaas-{_purpose}-*")) Directory.Delete(left, recursive: true);
    }

    [Fact]
    public void Should_tell_an_earlier_process_with_the_same_pid_from_this_one()
    {
        var mine = ScratchDirectories.Create(_purpose).FullName;
        var pid = Environment.ProcessId;
        var start = ScratchDirectories.StartOf(pid)!.Value;
        var otherStart = ScratchDirectories.StartOf(_other.Id)!.Value;
        var earlierWithMyPid = Make($"{pid}.{start - 100}");        // a restarted container's PID 1 before this one
        var olderVersionWithMyPid = Make($"{pid}");                 // named by PID alone, by an older version
        var running = Make($"{_other.Id}.{otherStart}");
        var olderVersionRunning = Make($"{_other.Id}");
        var reusedPid = Make($"{_other.Id}.{otherStart + 100}");    // the other PID, but not that process
        var gone = Make($"{int.MaxValue}.{start}");

        var removed = ScratchDirectories.RemoveStale(_purpose);

        Assert.Equal(new[] { earlierWithMyPid, olderVersionWithMyPid, reusedPid, gone }.Order(), removed.Order());
        Assert.All(new[] { mine, running, olderVersionRunning }, d => Assert.True(Directory.Exists(d), d));
        Assert.StartsWith($"msaas-{_purpose}-{pid}.{start}-", Path.GetFileName(mine));
    }

    private string Make(string owner) => Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"msaas-{_purpose}-{owner}-x{Guid.NewGuid():N}")).FullName;
}
