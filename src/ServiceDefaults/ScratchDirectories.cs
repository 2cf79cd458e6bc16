using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Temporary directories for one piece of work (a song being separated or encoded), named after the process that
/// made them: msaas-&lt;purpose&gt;-&lt;pid&gt;-&lt;random&gt;. A process that dies (SIGKILL, a crash) cannot remove its own; the
/// next process of the same kind removes those whose process is gone, when it starts.
/// </summary>
public static class ScratchDirectories
{
    public static DirectoryInfo Create(string purpose) =>
        Directory.CreateTempSubdirectory(string.Create(CultureInfo.InvariantCulture, $"msaas-{purpose}-{Environment.ProcessId}-"));

    /// <summary>Removes the directories of <paramref name="purpose"/> left behind by processes that no longer run.</summary>
    public static IReadOnlyList<string> RemoveStale(string purpose)
    {
        var removed = new List<string>();
        var prefix = $"msaas-{purpose}-";
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            var rest = Path.GetFileName(directory)[prefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) continue;
            if (pid == Environment.ProcessId || IsRunning(pid)) continue;
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

    /// <summary>Removes stale directories of <paramref name="purpose"/> when the host starts.</summary>
    public static IServiceCollection AddScratchCleanup(this IServiceCollection services, string purpose) =>
        services.AddSingleton<IHostedService>(sp => new Cleanup(purpose, sp.GetRequiredService<ILogger<Cleanup>>()));

    private static bool IsRunning(int pid) =>
        OperatingSystem.IsLinux() ? Directory.Exists($"/proc/{pid}") : ProcessExists(pid);

    private static bool ProcessExists(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

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
