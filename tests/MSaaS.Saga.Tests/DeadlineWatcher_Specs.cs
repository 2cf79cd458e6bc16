using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using MSaaS.Saga;
using MSaaS.Contracts;
using MSaaS.Storage;
using MSaaS.Testing;

namespace MSaaS.Saga.Tests;

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

        var watcher = await Watcher(saga);
        Assert.Equal(1, await watcher.FireOverdue(CancellationToken.None));

        var retried = await saga.WaitFor(late.SongId, "Separating", s => s.SeparationAttempts == 2);
        Assert.True(retried.Deadline > saga.Clock.GetUtcNow());
        Assert.Equal(1, (await saga.Store.LoadAsync(onTime.SongId))!.SeparationAttempts);
        Assert.Equal(0, await watcher.FireOverdue(CancellationToken.None));
        Assert.Equal(2, saga.PublishedFor<SeparateStems>(late.SongId, m => m.SongId).Count);
    }

    [Fact]
    public async Task Should_forget_songs_that_failed_longer_ago_than_the_retention()
    {
        await using var saga = await SagaHarness.Start();
        var old = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        await saga.Publish(old);
        await saga.WaitFor(old.SongId, "Separating");
        await saga.Publish(new StageTimedOut { SongId = old.SongId, Stage = "Separating", Deadline = DateTimeOffset.MaxValue });
        saga.Clock.Advance(TimeSpan.FromHours(7));
        await saga.Publish(new StageTimedOut { SongId = old.SongId, Stage = "Separating", Deadline = DateTimeOffset.MaxValue });
        saga.Clock.Advance(TimeSpan.FromHours(7));
        await saga.Publish(new StageTimedOut { SongId = old.SongId, Stage = "Separating", Deadline = DateTimeOffset.MaxValue });
        await saga.WaitFor(old.SongId, "Failed");
        var recent = SagaHarness.Upload(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28)));
        saga.Clock.Advance(TimeSpan.FromDays(8));
        await saga.Publish(recent);
        await saga.WaitFor(recent.SongId, "Separating");

        Assert.Equal(1, await (await Watcher(saga)).ForgetOldFailures(CancellationToken.None));

        for (var i = 0; i < 200 && await saga.Store.LoadAsync(old.SongId) is not null; i++) await Task.Delay(20);
        Assert.Null(await saga.Store.LoadAsync(old.SongId));
        Assert.NotNull(await saga.Store.LoadAsync(recent.SongId));
    }

    private static async Task<DeadlineWatcher> Watcher(SagaHarness saga)
    {
        var objects = new LocalObjectStore(TestData.Temp("store"));
        foreach (var bucket in SongObjects.Buckets) await objects.EnsureBucketAsync(bucket);
        return new DeadlineWatcher(saga.Store, objects, saga.Harness.Bus, saga.Clock, Options.Create(new DeadlineWatcherOptions()),
            Options.Create(new PipelineOptions()), NullLogger<DeadlineWatcher>.Instance);
    }
}
