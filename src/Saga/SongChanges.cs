using System.Collections.Concurrent;

namespace MSaaS.Saga;

/// <summary>
/// Tells those in this process who wait for a song to change (the live and progress routes) the moment this process
/// stores a change of it, rather than at their next look. Only changes stored here are seen: in a process that does not
/// run the song saga, or for a change another replica stored, the waiter's own interval still bounds the wait.
/// </summary>
public sealed class SongChanges
{
    private readonly ConcurrentDictionary<Guid, TaskCompletionSource> _next = new();

    /// <summary>
    /// Completes at the next change of the song stored in this process. Take it before looking at the song, so that a
    /// change stored between the look and the wait is not missed.
    /// </summary>
    public Task Next(Guid songId) =>
        _next.GetOrAdd(songId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>Waits for <paramref name="next"/> (from <see cref="Next"/>), at most <paramref name="most"/>.</summary>
    public static async Task WaitAsync(Task next, TimeSpan most, TimeProvider clock, CancellationToken cancellationToken)
    {
        try
        {
            await next.WaitAsync(most, clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            // looked again after the interval, changed or not
        }
    }

    /// <summary>A change of the song was stored: every waiter wakes (and none is kept for a song no one waits on).</summary>
    public void Changed(Guid songId)
    {
        if (_next.TryRemove(songId, out var waiters)) waiters.TrySetResult();
    }
}
