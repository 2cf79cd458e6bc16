using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MSaaS.Api.StateMachines;
using MSaaS.Contracts;

namespace MSaaS.Api.Tests;

public class DeadlineWatcher_Specs
{
    [Fact]
    public async Task Should_tell_a_song_its_deadline_passed_once_and_leave_others_alone()
    {
        await using var saga = await SagaHarness.Start();
        var late = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        await saga.Publish(late);
        await saga.WaitFor(late.SongId, "Separating");
        saga.Clock.Advance(TimeSpan.FromHours(5));
        var onTime = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        await saga.Publish(onTime);
        await saga.WaitFor(onTime.SongId, "Separating");
        saga.Clock.Advance(TimeSpan.FromHours(2)); // late is 7 h old (deadline 6 h), onTime 2 h

        var watcher = new DeadlineWatcher(saga.Store, saga.Harness.Bus, saga.Clock, Options.Create(new DeadlineWatcherOptions()),
            NullLogger<DeadlineWatcher>.Instance);
        Assert.Equal(1, await watcher.FireOverdue(CancellationToken.None));

        var retried = await saga.WaitFor(late.SongId, "Separating", s => s.SeparationAttempts == 2);
        Assert.True(retried.Deadline > saga.Clock.GetUtcNow());
        Assert.Equal(1, (await saga.Store.LoadAsync(onTime.SongId))!.SeparationAttempts);
        Assert.Equal(0, await watcher.FireOverdue(CancellationToken.None));
        Assert.Equal(2, saga.PublishedFor<SeparateStems>(late.SongId, m => m.SongId).Count);
    }
}
