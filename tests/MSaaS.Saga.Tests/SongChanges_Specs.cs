using Microsoft.Extensions.Time.Testing;

namespace MSaaS.Saga.Tests;

/// <summary>Waiters for a song wake at the change stored, or after their interval.</summary>
public sealed class SongChanges_Specs
{
    private readonly SongChanges _changes = new();

    [Fact]
    public async Task Should_wake_every_waiter_of_the_song_changed_and_no_other()
    {
        var (song, other) = (Guid.NewGuid(), Guid.NewGuid());
        var (first, second, elsewhere) = (_changes.Next(song), _changes.Next(song), _changes.Next(other));

        _changes.Changed(song);

        await Task.WhenAll(first, second).WaitAsync(TimeSpan.FromSeconds(5));
        Assert.False(elsewhere.IsCompleted);
        Assert.False(_changes.Next(song).IsCompleted, "a waiter after the change waits for the next one");
    }

    [Fact]
    public async Task Should_give_up_waiting_after_the_interval_without_a_change()
    {
        var clock = new FakeTimeProvider();
        var waiting = SongChanges.WaitAsync(_changes.Next(Guid.NewGuid()), TimeSpan.FromSeconds(2), clock, CancellationToken.None);

        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.False(waiting.IsCompleted);
        clock.Advance(TimeSpan.FromSeconds(1));

        await waiting.WaitAsync(TimeSpan.FromSeconds(5)); // returns, without a TimeoutException
    }

    [Fact]
    public async Task Should_stop_waiting_when_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        var waiting = SongChanges.WaitAsync(_changes.Next(Guid.NewGuid()), TimeSpan.FromMinutes(1), TimeProvider.System, cancel.Token);

        await cancel.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
