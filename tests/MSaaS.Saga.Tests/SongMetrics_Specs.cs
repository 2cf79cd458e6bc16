using MSaaS.Saga;
using MSaaS.Contracts;

namespace MSaaS.Saga.Tests;

[CollectionDefinition(nameof(SongMetrics_Specs), DisableParallelization = true)]
public sealed class SongMetricsCollection;

/// <summary>
/// What a stored saga update counts. The counters are the process's own, so these specs run alone (no other spec's
/// song moves them meanwhile) and can check exact differences.
/// </summary>
[Collection(nameof(SongMetrics_Specs))]
public sealed class SongMetrics_Specs
{
    private static readonly SongUploaded Upload = new()
    {
        SongId = Guid.NewGuid(), SongHash = "h", Upload = new StoredObject { Bucket = "queue", Name = "h.mp3" }, Model = "htdemucs",
        Source = "test", UploadedAt = DateTimeOffset.UnixEpoch,
    };

    [Fact]
    public void Should_count_a_song_once_when_it_enters_completed_or_failed_and_not_while_it_stays()
    {
        var (completed, failed) = (SongMetrics.Completed.Count(), SongMetrics.Failed.Count("Encoding"));

        SongMetrics.Stored(new SongSnapshot("Notifying", 1, 1), Song("Completed"), Upload);
        SongMetrics.Stored(new SongSnapshot("Completed", 1, 1), Song("Completed"), Upload); // a duplicate noted: no change of state
        SongMetrics.Stored(new SongSnapshot("Encoding", 1, 1), Song("Failed", failedStage: "Encoding"), Upload);

        Assert.Equal(completed + 1, SongMetrics.Completed.Count());
        Assert.Equal(failed + 1, SongMetrics.Failed.Count("Encoding"));
    }

    [Fact]
    public void Should_count_a_deadline_only_when_the_saga_acted_on_it()
    {
        var before = SongMetrics.DeadlinesFired.Count("Separating");
        var timedOut = new StageTimedOut { SongId = Guid.NewGuid(), Stage = "Separating", Deadline = DateTimeOffset.UnixEpoch };

        SongMetrics.Stored(new SongSnapshot("Separating", 1, 0), Song("Separating", separationAttempts: 2), timedOut); // sent again
        SongMetrics.Stored(new SongSnapshot("Separating", 2, 0), Song("Separating", separationAttempts: 2), timedOut); // a stale repeat
        SongMetrics.Stored(new SongSnapshot("Separating", 3, 0), Song("Failed", separationAttempts: 3, failedStage: "Separating"), timedOut); // given up

        Assert.Equal(before + 2, SongMetrics.DeadlinesFired.Count("Separating"));
    }

    [Fact]
    public async Task Should_count_a_song_completed_once_when_concurrent_answers_race_to_complete_it()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()) + "0123456789abcdef01234567");
        var stems = new Dictionary<string, StoredObject> { ["vocals"] = new() { Bucket = "output", Name = "v.mp3" } };
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = stems });
        await saga.WaitFor(upload.SongId, "Encoding");
        var completed = SongMetrics.Completed.Count();

        // Ten answers at once: each loads the song in Encoding and completes it; one update is stored, the others lose,
        // are retried, find the song Completed and change nothing. Counting inside the saga would count the losers too.
        await Task.WhenAll(Enumerable.Range(0, 10).Select(_ =>
            saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = stems })));
        await saga.WaitFor(upload.SongId, "Completed");
        await saga.Harness.InactivityTask;

        Assert.Equal(completed + 1, SongMetrics.Completed.Count());
    }

    [Fact]
    public void Should_record_the_time_from_upload_to_first_audio_once_per_attempt()
    {
        var recorded = new List<double>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == SongMetrics.MeterName && instrument.Name == "msaas.songs.first_audio") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<double>((_, value, _, _) => recorded.Add(value));
        listener.Start();
        var live = new LivePartsStored { SongId = Guid.NewGuid(), Attempt = 1, Run = Guid.NewGuid(), Seconds = 1.2 };
        SongState Heard(double seconds)
        {
            var song = Song("Separating");
            (song.LiveSeconds, song.UpdatedAt) = (seconds, DateTimeOffset.UnixEpoch.AddSeconds(4.5));
            return song;
        }

        SongMetrics.Stored(new SongSnapshot("Separating", 1, 0, LiveSeconds: 0), Heard(1.2), live); // the first parts
        SongMetrics.Stored(new SongSnapshot("Separating", 1, 0, LiveSeconds: 1.2), Heard(5.2), live); // later ones

        Assert.Equal([4.5], recorded);
    }

    private static SongState Song(string state, int separationAttempts = 1, string? failedStage = null) => new()
    {
        CorrelationId = Guid.NewGuid(), CurrentState = state, SongHash = "h", SeparationAttempts = separationAttempts, EncodingAttempts = 0,
        FailedStage = failedStage, UpdatedAt = DateTimeOffset.UnixEpoch, CreatedAt = DateTimeOffset.UnixEpoch,
    };
}
