using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace MSaaS.ServiceDefaults;

/// <summary>
/// Temporary directories for one piece of work (a song being separated or encoded, an upload, a mix), all under one
/// root per process: &lt;temp&gt;/msaas-scratch-&lt;pid&gt;.&lt;token&gt;/ (the temp directory is TMPDIR's, an emptyDir on
/// Kubernetes). The process holds an exclusive lock on the root's owner.lock while it runs, and removes the root when it
/// exits; a process that dies (SIGKILL, a crash) leaves it, and the next process removes every root whose lock it can
/// take. PIDs decide nothing, so a restarted container's PID 1 and containers sharing a temp directory see each other
/// right. A root is made and locked under another name and then renamed into place, so no process ever sees a root of
/// a live process without its lock. A process whose file system keeps no locks marks its root so (no-lock), and such a
/// root is never removed by another; nor does that process remove any.
/// </summary>
public static class ScratchDirectories
{
    private const string Prefix = "msaas-scratch-";
    private const string Starting = ".msaas-starting-"; // not matched by Prefix: a root being made and locked
    private const string LockName = "owner.lock";
    private const string NoLockName = "no-lock";

    private static readonly Lazy<Root> Self = new(Root.Take);

    /// <summary>This process's root.</summary>
    public static string RootPath => Self.Value.Path;

    /// <summary>A new directory for one piece of work of <paramref name="purpose"/> (separate, encode, upload, mix).</summary>
    public static DirectoryInfo Create(string purpose)
    {
        var root = Self.Value.Path;
        // Never made again in passing: a root that is gone was removed by someone, and its work with it.
        if (!Directory.Exists(root)) throw new IOException($"this process's scratch directory {root} was removed");
        return Directory.CreateDirectory(Path.Combine(root, $"{purpose}-{Guid.NewGuid():N}"));
    }

    /// <summary>Removes the roots of processes that no longer run; returns them.</summary>
    public static IReadOnlyList<string> RemoveStale() => RemoveStale(Path.GetTempPath());

    /// <summary>The same in <paramref name="directory"/> (a spec's own, so that no other process's roots are judged).</summary>
    internal static IReadOnlyList<string> RemoveStale(string directory)
    {
        var self = Self.Value;
        if (!self.Locks) return []; // this file system keeps no locks: another root's lock says nothing
        var removed = new List<string>();
        foreach (var root in Directory.EnumerateDirectories(directory, Prefix + "*"))
        {
            if (root == self.Path || !Gone(root)) continue;
            try
            {
                Directory.Delete(root, recursive: true);
                removed.Add(root);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Someone else's, or already going: leave it.
            }
        }
        return removed;
    }

    // Whether the process of a root has ended: its lock can be taken, or is gone. A root marked no-lock is never judged.
    private static bool Gone(string root)
    {
        if (File.Exists(Path.Combine(root, NoLockName))) return false;
        try
        {
            using var probe = new FileStream(Path.Combine(root, LockName), FileMode.Open, FileAccess.ReadWrite, FileShare.None);
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

    /// <summary>This process's root, and the lock on it that it holds until it ends.</summary>
    private sealed class Root
    {
        private readonly FileStream? _held; // open for the life of the process: the lock is what says it runs

        private Root(string path, FileStream? held) => (Path, _held) = (path, held);

        public string Path { get; }

        /// <summary>Whether this process holds its lock, and so may judge others by theirs.</summary>
        public bool Locks => _held is not null;

        public static Root Take()
        {
            var name = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}.{Guid.NewGuid():N}");
            var temp = System.IO.Path.GetTempPath();
            var (starting, path) = (System.IO.Path.Combine(temp, Starting + name), System.IO.Path.Combine(temp, Prefix + name));
            Directory.CreateDirectory(starting);
            FileStream? held = null;
            var lockPath = System.IO.Path.Combine(starting, LockName);
            try
            {
                held = new FileStream(lockPath, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None);
                if (!Refused(lockPath))
                {
                    held.Dispose(); // this file system, or DOTNET_SYSTEM_IO_DISABLEFILELOCKING, keeps no lock
                    held = null;
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                held = null;
            }
            if (held is null)
            {
                Quietly(() => File.Delete(lockPath));
                File.WriteAllBytes(System.IO.Path.Combine(starting, NoLockName), []);
            }
            Directory.Move(starting, path); // the lock, held on the open file, moves with it
            AppDomain.CurrentDomain.ProcessExit += (_, _) => Quietly(() => Directory.Delete(path, recursive: true));
            return new Root(path, held);
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
    }

    /// <summary>Removes the roots of processes that died when the host starts (once, whichever services the host runs).</summary>
    public static IServiceCollection AddScratchCleanup(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, Cleanup>());
        return services;
    }

    internal sealed class Cleanup(ILogger<Cleanup> logger) : IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            var removed = RemoveStale();
            if (removed.Count > 0) logger.LogWarning("removed {Count} work directories left by processes that died: {Directories}", removed.Count, removed);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
