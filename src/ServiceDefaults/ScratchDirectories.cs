using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Temporary directories for one piece of work (a song being separated or encoded), named after the process that
/// made them: msaas-&lt;purpose&gt;-&lt;pid&gt;.&lt;owner&gt;-&lt;random&gt;, the owner a token this process draws once. While it
/// runs, the process holds an exclusive lock on msaas-owner-&lt;pid&gt;.&lt;owner&gt;.lock beside them; the lock goes with the
/// process however it ends. A process that dies (SIGKILL, a crash) cannot remove its directories; the next process of
/// the same kind removes those whose owner's lock it can take, when it starts. PIDs decide nothing, so a restarted
/// container's PID 1 (its temp directory kept) and containers sharing one temp directory each see the others right.
/// </summary>
public static class ScratchDirectories
{
    private static readonly Lazy<Owner> Self = new(Owner.Take);

    public static DirectoryInfo Create(string purpose) => Directory.CreateTempSubdirectory($"msaas-{purpose}-{Self.Value.Name}-");

    /// <summary>Removes the directories of <paramref name="purpose"/> left behind by processes that no longer run.</summary>
    public static IReadOnlyList<string> RemoveStale(string purpose)
    {
        var removed = new List<string>();
        var prefix = $"msaas-{purpose}-";
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), prefix + "*"))
        {
            var rest = Path.GetFileName(directory)[prefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !Gone(rest[..dash])) continue;
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
        Owner.RemoveStaleLocks();
        return removed;
    }

    // Whether the process a directory is named after has ended. A name with an owner token: its lock can be taken, or its
    // lock file is gone (judged only where this process could lock its own: elsewhere locks say nothing). The PID alone
    // (older versions, or a process that could not lock): no process has it, or it is this one's while this one names
    // its directories otherwise.
    private static bool Gone(string name)
    {
        var self = Self.Value;
        if (name.Contains('.', StringComparison.Ordinal)) return name != self.Name && self.Locks && Owner.Gone(name);
        if (!int.TryParse(name, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        return pid == Environment.ProcessId ? self.Locks : !Running(pid);
    }

    private static bool Running(int pid)
    {
        if (OperatingSystem.IsLinux()) return Directory.Exists($"/proc/{pid}");
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>This process as the owner of its directories: the name it gives them, and the lock it holds until it ends.</summary>
    private sealed class Owner
    {
        private const string LockPrefix = "msaas-owner-";
        private readonly FileStream? _held; // open for the life of the process: the lock is what says it runs

        private Owner(string name, FileStream? held) => (Name, _held) = (name, held);

        public string Name { get; }

        /// <summary>Whether this process holds its lock, and so may judge others by theirs.</summary>
        public bool Locks => _held is not null;

        public static Owner Take()
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}.{Guid.NewGuid():N}");
            var path = LockPath(name);
            try
            {
                var held = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                if (Refused(path))
                {
                    AppDomain.CurrentDomain.ProcessExit += (_, _) => Quietly(() => File.Delete(path));
                    return new Owner(name, held);
                }
                held.Dispose(); // this file system, or DOTNET_SYSTEM_IO_DISABLEFILELOCKING, keeps no lock
                Quietly(() => File.Delete(path));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
            // No lock: named by the PID alone, kept while a process has that PID.
            return new Owner(Environment.ProcessId.ToString(CultureInfo.InvariantCulture), null);
        }

        /// <summary>Whether the owner named so has ended: its lock can be taken, or its lock file is gone.</summary>
        public static bool Gone(string name)
        {
            try
            {
                using var probe = new FileStream(LockPath(name), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                return true;
            }
            catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
            {
                return true;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false; // held: it runs
            }
        }

        /// <summary>Removes the lock files of owners that have ended (their directories are judged by the lock first).</summary>
        public static void RemoveStaleLocks()
        {
            if (!Self.Value.Locks) return;
            foreach (var path in Directory.EnumerateFiles(Path.GetTempPath(), LockPrefix + "*.lock"))
            {
                if (path == LockPath(Self.Value.Name)) continue;
                try
                {
                    using var probe = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                    File.Delete(path); // while held, so that no other process takes it for a live one's meanwhile
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        }

        // Whether a second open of the held file is refused: .NET keeps FileShare.None with flock on Unix.
        private static bool Refused(string path)
        {
            try
            {
                using var second = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                return false;
            }
            catch (IOException)
            {
                return true;
            }
        }

        private static void Quietly(Action remove)
        {
            try
            {
                remove();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
            }
        }

        private static string LockPath(string name) => Path.Combine(Path.GetTempPath(), $"{LockPrefix}{name}.lock");
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
