using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Temporary directories for one piece of work (a song being separated or encoded), named after the process that
/// made them: msaas-&lt;purpose&gt;-&lt;pid&gt;.&lt;start&gt;-&lt;random&gt;, the start being when the process began (on Linux in
/// clock ticks since boot, exact), so that a later process given the same PID (a restarted container's PID 1, with its
/// /tmp kept) does not take an earlier one's directories for its own. A process that dies (SIGKILL, a crash) cannot
/// remove its own; the next process of the same kind removes those whose process is gone, when it starts.
/// </summary>
public static class ScratchDirectories
{
    private static readonly string Self = SelfName();

    public static DirectoryInfo Create(string purpose) => Directory.CreateTempSubdirectory($"msaas-{purpose}-{Self}-");

    /// <summary>Removes the directories of <paramref name="purpose"/> left behind by processes that no longer run.</summary>
    public static IReadOnlyList<string> RemoveStale(string purpose)
    {
        var removed = new List<string>();
        var prefix = $"msaas-{purpose}-";
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            var rest = Path.GetFileName(directory)[prefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || Owner(rest[..dash]) is not var (pid, start) || StillRunning(pid, start)) continue;
            try
            {
                Directory.Delete(directory, recursive: true);
                removed.Add(directory);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else's, or already going: leave it.
            }
        }
        return removed;
    }

    // "pid.start" or, from older versions, "pid"; null when it is neither.
    private static (int Pid, long? Start)? Owner(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        if (!int.TryParse(dot < 0 ? text : text[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return null;
        if (dot < 0) return (pid, null);
        return long.TryParse(text[(dot + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out var start) ? (pid, start) : null;
    }

    // Whether the process a name gives still runs: that PID, started when the name says.
    private static bool StillRunning(int pid, long? start)
    {
        // This process names none by PID alone: one with its PID is an earlier process's.
        if (start is null && pid == Environment.ProcessId) return false;
        try
        {
            return StartOf(pid) is { } started && (start is null || started == start);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or System.ComponentModel.Win32Exception or FormatException
                                      or IndexOutOfRangeException)
        {
            return true; // running, but its start cannot be read: keep what may be its
        }
    }

    // "pid.start"; the PID alone where this process's start cannot be read (as older versions named theirs: kept while a
    // process with that PID runs).
    private static string SelfName()
    {
        try
        {
            if (StartOf(Environment.ProcessId) is { } start) return string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}.{start}");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException)
        {
        }
        return Environment.ProcessId.ToString(CultureInfo.InvariantCulture);
    }

    /// <summary>
    /// When process <paramref name="pid"/> started: on Linux /proc's clock ticks since boot, elsewhere the system's
    /// start time in ticks; null when no such process runs.
    /// </summary>
    internal static long? StartOf(int pid)
    {
        if (OperatingSystem.IsLinux())
        {
            string stat;
            try
            {
                stat = File.ReadAllText($"/proc/{pid}/stat");
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return null;
            }
            // After the command name (in parentheses, which may hold anything), field 22 is the start: the 20th from there.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            return long.Parse(fields[19], NumberStyles.None, CultureInfo.InvariantCulture);
        }
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.StartTime.ToUniversalTime().Ticks;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return null; // not running, or gone while asked
        }
    }

    /// <summary>Removes stale directories of <paramref name="purpose"/> when the host starts.</summary>
    public static IServiceCollection AddScratchCleanup(this IServiceCollection services, string purpose) =>
        services.AddSingleton<IHostedService>(sp => new Cleanup(purpose, sp.GetRequiredService<ILogger<Cleanup>>()));

    internal sealed class Cleanup(string purpose, ILogger<Cleanup> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var removed = RemoveStale(purpose);
            if (removed.Count > 0) logger.LogWarning("removed {Count} work directories left by processes that died: {Directories}", removed.Count, removed);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
