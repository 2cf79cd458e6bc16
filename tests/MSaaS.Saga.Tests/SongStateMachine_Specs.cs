using System.Security.Cryptography;
using MassTransit;
using MSaaS.Contracts;

namespace MSaaS.Saga.Tests;

public class SongStateMachine_Specs
{
    private static readonly Callback Hook = new() { Url = "http://client.example/hook", Data = """{"mp3":"song.mp3","data":"to be returned"}""" };

    private static string NewHash() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(28));

    private static Dictionary<string, StoredObject> Stems(string hash, string bucket, string ext) =>
        new[] { "drums", "bass", "other", "vocals" }.ToDictionary(t => t, t => new StoredObject { Bucket = bucket, Name = $"{hash}-{t}.{ext}" });

    [Fact]
    public async Task Should_take_a_song_through_every_stage_to_completed()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash(), Hook);
        var id = upload.SongId;

        await saga.Publish(upload);
        await saga.WaitFor(id, "Separating");
        Assert.Single(saga.PublishedFor<SeparateStems>(id, m => m.SongId));

        await saga.Publish(new SeparationProgressed { SongId = id, SegmentsDone = 2, SegmentsTotal = 4 });
        await saga.WaitFor(id, "Separating", s => s.Progress == 45);

        await saga.Publish(new StemsSeparated { SongId = id, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav"), DurationSeconds = 20 });
        await saga.WaitFor(id, "Encoding");
        Assert.Equal(4, (await Eventually(() => saga.PublishedFor<EncodeStems>(id, m => m.SongId))).Single().Stems.Count);

        await saga.Publish(new StemsEncoded { SongId = id, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "output", "mp3") });
        await saga.WaitFor(id, "Notifying");
        var webhook = (await Eventually(() => saga.PublishedFor<DeliverWebhook>(id, m => m.SongId))).Single();
        Assert.Equal(Hook, webhook.Callback);

        await saga.Publish(new Notified { SongId = id, Url = Hook.Url, Delivered = true, Attempts = 1, StatusCode = 200 });
        var done = await saga.WaitFor(id, "Completed");

        Assert.Equal(100, done.Progress);
        Assert.Null(done.Deadline);
        Assert.Equal((Hook.Url, true, 200), (done.Webhooks.Single().Url, done.Webhooks[0].Delivered, done.Webhooks[0].StatusCode));
        Assert.Equal(["Initial", "Separating", "Encoding", "Notifying", "Completed"],
            done.History.Where(h => h.What == "entered").Select(h => h.State));
        Assert.Equal(4, done.Stems!.Count);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_skip_the_encoding_stage_when_the_worker_encoded_while_separating(bool webhook)
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash(), webhook ? Hook : null) with { Formats = ["mp3", "wav"] };
        var id = upload.SongId;

        await saga.Publish(upload);
        await saga.WaitFor(id, "Separating");
        Assert.Equal(["mp3", "wav"], (await Eventually(() => saga.PublishedFor<SeparateStems>(id, m => m.SongId))).Single().Formats);

        var final = Stems(upload.SongHash, "output", "mp3");
        await saga.Publish(new StemsSeparatedAndEncoded { SongId = id, SongHash = upload.SongHash, Stems = final, DurationSeconds = 20 });
        var song = await saga.WaitFor(id, webhook ? "Notifying" : "Completed");

        Assert.Equal(final, song.Stems);
        Assert.Equal(20, song.DurationSeconds);
        Assert.Null(song.WorkStems);
        Assert.Empty(saga.PublishedFor<EncodeStems>(id, m => m.SongId));
        Assert.DoesNotContain("Encoding", song.History.Select(h => h.State));
        if (webhook) Assert.Equal(Hook, (await Eventually(() => saga.PublishedFor<DeliverWebhook>(id, m => m.SongId))).Single().Callback);
        else Assert.Equal(100, song.Progress);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Should_still_move_on_from_the_two_meaning_event_of_workers_before_it_was_split(bool encoded)
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");

        var final = Stems(upload.SongHash, "output", "mp3");
        var work = Stems(upload.SongHash, "work", "wav");
#pragma warning disable CS0618 // what an old worker publishes
        await saga.Publish(new SeparationCompleted
        {
            SongId = upload.SongId, SongHash = upload.SongHash, Stems = encoded ? [] : work, Encoded = encoded ? final : null, DurationSeconds = 20,
        });
#pragma warning restore CS0618

        var song = await saga.WaitFor(upload.SongId, encoded ? "Completed" : "Encoding");
        Assert.Equal(20, song.DurationSeconds);
        if (encoded) Assert.Equal(final, song.Stems);
        else Assert.Equal(work, (await Eventually(() => saga.PublishedFor<EncodeStems>(upload.SongId, m => m.SongId))).Single().Stems);
    }

    [Fact]
    public async Task Should_know_the_songs_length_from_the_first_progress_event()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");

        await saga.Publish(new SeparationProgressed { SongId = upload.SongId, SegmentsDone = 0, SegmentsTotal = 24, SongSeconds = 183.5 });

        var song = await saga.WaitFor(upload.SongId, "Separating", s => s.DurationSeconds == 183.5);
        Assert.Equal(0, song.Progress);
    }

    [Fact]
    public async Task Should_keep_the_seconds_and_parts_the_current_runs_live_parts_cover_and_start_over_with_a_new_run_or_attempt()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        var (first, second) = (Guid.NewGuid(), Guid.NewGuid());

        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 1, Run = first, Seconds = 5.5, Parts = 2 });
        await saga.WaitFor(upload.SongId, "Separating", s => s.LiveSeconds == 5.5 && s.LiveParts == 2 && s.LiveRun == first);
        // Out of order, or from an attempt given up on: never less, never another attempt's.
        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 1, Run = first, Seconds = 1.5, Parts = 1 });
        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 7, Run = Guid.NewGuid(), Seconds = 60, Parts = 15 });
        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 1, Run = first, Seconds = 9.5, Parts = 3 });
        await saga.WaitFor(upload.SongId, "Separating", s => s.LiveSeconds == 9.5 && s.LiveParts == 3);

        // The song handed to another worker (a redelivery): the same attempt, a new run, counted from its start.
        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 1, Run = second, Seconds = 1.2, Parts = 1 });
        await saga.WaitFor(upload.SongId, "Separating", s => s.LiveRun == second && s.LiveSeconds == 1.2 && s.LiveParts == 1);
        // A worker that does not count its parts: none is known to be whole.
        await saga.Publish(new LivePartsStored { SongId = upload.SongId, Attempt = 1, Run = second, Seconds = 5.2 });
        await saga.WaitFor(upload.SongId, "Separating", s => s.LiveSeconds == 5.2 && s.LiveParts == null);

        saga.Clock.Advance(TimeSpan.FromHours(7));
        var current = (await saga.Store.LoadAsync(upload.SongId))!;
        await saga.Publish(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = current.Deadline!.Value });
        var retried = await saga.WaitFor(upload.SongId, "Separating", s => s.SeparationAttempts == 2);
        Assert.Equal(0, retried.LiveSeconds);
        Assert.Null(retried.LiveRun);
        Assert.Null(retried.LiveParts);
    }

    [Fact]
    public async Task Should_fail_the_song_when_the_worker_reports_stems_that_are_not_the_four()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");

        var three = Stems(upload.SongHash, "output", "mp3");
        three.Remove("vocals");
        await saga.Publish(new StemsSeparatedAndEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = three });

        var failed = await saga.WaitFor(upload.SongId, "Failed");
        Assert.Contains("not the four", failed.LastError);
        Assert.Null(failed.Stems);
    }

    [Fact]
    public async Task Should_complete_a_song_whose_separation_was_given_up_on_when_its_stems_arrive_after_all()
    {
        await using var saga = await SagaHarness.Start(o => o.MaxAttempts = 1);
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        var separating = await saga.WaitFor(upload.SongId, "Separating");
        saga.Clock.Advance(TimeSpan.FromHours(7));
        await saga.Publish(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = separating.Deadline!.Value });
        var failed = await saga.WaitFor(upload.SongId, "Failed");
        Assert.Equal("Separating", failed.FailedStage);

        var final = Stems(upload.SongHash, "output", "mp3");
        await saga.Publish(new StemsSeparatedAndEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = final });

        var done = await saga.WaitFor(upload.SongId, "Completed");
        Assert.Equal(final, done.Stems);
        Assert.Null(done.LastError);
        Assert.Null(done.FailedStage);
    }

    [Fact]
    public async Task Should_leave_the_encoding_to_the_encoding_stage_when_the_pipeline_is_told_not_to_ask_the_workers()
    {
        await using var saga = await SagaHarness.Start(o => o.EncodeWhileSeparating = false);
        var upload = SagaHarness.Upload(NewHash()) with { Formats = ["mp3"] };

        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");

        Assert.Empty((await Eventually(() => saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId))).Single().Formats);
    }

    [Fact]
    public async Task Should_complete_without_a_webhook_when_none_was_given()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await RunToEncoded(saga, upload, "Completed");
        Assert.Empty(saga.PublishedFor<DeliverWebhook>(upload.SongId, m => m.SongId));
    }

    [Fact]
    public async Task Should_fail_the_song_when_separation_faults()
    {
        await using var saga = await SagaHarness.Start(bus: x => x.AddConsumer<CorruptSongSeparator>());
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);

        var failed = await saga.WaitFor(upload.SongId, "Failed");
        Assert.Equal("Separating", failed.FailedStage);
        Assert.Contains("corrupt", failed.LastError);
    }

    [Fact]
    public async Task Should_fail_the_song_when_encoding_faults_and_resume_encoding_on_retry()
    {
        await using var saga = await SagaHarness.Start(bus: x => x.AddConsumer<FlakyEncoder>());
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });

        var failed = await saga.WaitFor(upload.SongId, "Failed");
        Assert.Equal("Encoding", failed.FailedStage);
        Assert.Contains("unreachable", failed.LastError);

        await saga.Publish(new RetrySong { SongId = upload.SongId, RequestedBy = "alice" });

        // The retry resumes at encoding, from the stems already separated, and this time the encoder succeeds.
        var done = await saga.WaitFor(upload.SongId, "Completed");
        Assert.Equal(2, saga.PublishedFor<EncodeStems>(upload.SongId, m => m.SongId).Count);
        Assert.Single(saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId));
        Assert.Contains(done.History, h => h.What.Contains("retry asked by alice"));
    }

    private sealed class CorruptSongSeparator : IConsumer<SeparateStems>
    {
        public Task Consume(ConsumeContext<SeparateStems> context) => throw new InvalidDataException("song.mp3 is corrupt");
    }

    /// <summary>Fails the first time it sees a song, then works.</summary>
    private sealed class FlakyEncoder : IConsumer<EncodeStems>
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Guid, int> Seen = new();

        public Task Consume(ConsumeContext<EncodeStems> context) =>
            Seen.AddOrUpdate(context.Message.SongId, 1, (_, n) => n + 1) == 1
                ? throw new IOException("the object store is unreachable")
                : context.Publish(new StemsEncoded
                {
                    SongId = context.Message.SongId, SongHash = context.Message.SongHash,
                    Stems = Stems(context.Message.SongHash, "output", "mp3"),
                });
    }

    [Fact]
    public async Task Should_complete_the_song_even_when_the_webhook_fails()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash(), Hook);
        await RunToEncoded(saga, upload, "Notifying");

        await saga.Publish(new Notified { SongId = upload.SongId, Delivered = false, Attempts = 5, StatusCode = 503, Error = "503 Service Unavailable" });

        var done = await saga.WaitFor(upload.SongId, "Completed");
        Assert.False(done.Webhooks.Single().Delivered);
        Assert.Equal(5, done.Webhooks[0].Attempts);
    }

    [Fact]
    public async Task Should_retry_a_stage_whose_deadline_passed_and_fail_after_the_last_attempt()
    {
        await using var saga = await SagaHarness.Start(o => o.MaxAttempts = 2);
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        var first = await saga.WaitFor(upload.SongId, "Separating");
        Assert.Equal(saga.Clock.GetUtcNow() + TimeSpan.FromHours(6), first.Deadline);

        saga.Clock.Advance(TimeSpan.FromHours(7));
        await saga.Publish(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = first.Deadline!.Value });
        var second = await saga.WaitFor(upload.SongId, "Separating", s => s.SeparationAttempts == 2);
        var commands = await Eventually(() => saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId), 2);
        Assert.Equal([1, 2], commands.Select(c => c.Attempt));
        Assert.Equal([first.CreatedAt, saga.Clock.GetUtcNow()], commands.Select(c => c.AttemptStartedAt)); // each attempt its own start

        // The same deadline reported again (a second watcher, say) is stale and changes nothing.
        await saga.PublishAndWait(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = first.Deadline!.Value });
        var unchanged = (await saga.Store.LoadAsync(upload.SongId))!;
        Assert.Equal("Separating", unchanged.CurrentState);
        Assert.Equal(2, unchanged.SeparationAttempts);

        await saga.Publish(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = second.Deadline!.Value });
        var failed = await saga.WaitFor(upload.SongId, "Failed");
        Assert.Contains("timed out 2 times", failed.LastError);
    }

    [Fact]
    public async Task Should_ignore_a_deadline_for_a_stage_the_song_has_left()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });
        await saga.WaitFor(upload.SongId, "Encoding");

        await saga.PublishAndWait(new StageTimedOut { SongId = upload.SongId, Stage = "Separating", Deadline = DateTimeOffset.MaxValue });
        await saga.PublishAndWait(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });

        var song = await saga.WaitFor(upload.SongId, "Encoding");
        Assert.Equal(1, song.EncodingAttempts);
        Assert.Single(saga.PublishedFor<EncodeStems>(upload.SongId, m => m.SongId));
    }

    [Fact]
    public async Task Should_not_separate_a_duplicate_in_flight_and_serve_a_finished_one_at_once()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");

        await saga.Publish(upload with { Source = "toWorker" });
        await saga.WaitFor(upload.SongId, "Separating", s => s.History.Any(h => h.What.Contains("duplicate")));
        Assert.Single(saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId));

        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });
        await saga.WaitFor(upload.SongId, "Encoding");
        await saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "output", "mp3") });
        await saga.WaitFor(upload.SongId, "Completed");

        await saga.Publish(upload with { Callback = Hook });
        await saga.WaitFor(upload.SongId, "Notifying");
        Assert.Single(saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId));
        Assert.Equal(Hook, (await Eventually(() => saga.PublishedFor<DeliverWebhook>(upload.SongId, m => m.SongId))).Single().Callback);
    }

    [Fact]
    public async Task Should_call_the_webhook_of_every_client_that_sent_the_song_in_flight()
    {
        await using var saga = await SagaHarness.Start();
        var other = new Callback { Url = "http://other.example/hook", Data = "\"theirs\"" };
        var upload = SagaHarness.Upload(NewHash(), Hook);
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(upload with { Callback = other, Source = "toWorker" });
        await saga.Publish(upload); // the same client again: one webhook, not two
        await saga.WaitFor(upload.SongId, "Separating", s => s.Callbacks.Count == 2);

        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });
        await saga.WaitFor(upload.SongId, "Encoding");
        await saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "output", "mp3") });
        var hooks = await Eventually(() => saga.PublishedFor<DeliverWebhook>(upload.SongId, m => m.SongId), 2);
        Assert.Equal([Hook, other], hooks.Select(h => h.Callback));
        Assert.Single(saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId));

        await saga.Publish(new Notified { SongId = upload.SongId, Url = Hook.Url, Delivered = true, Attempts = 1 });
        await saga.WaitFor(upload.SongId, "Notifying", s => s.PendingWebhooks == 1);
        await saga.Publish(new Notified { SongId = upload.SongId, Url = other.Url, Delivered = false, Attempts = 5, Error = "503" });
        var done = await saga.WaitFor(upload.SongId, "Completed");
        Assert.Equal([true, false], done.Webhooks.Select(w => w.Delivered));
    }

    [Fact]
    public async Task Should_tell_of_each_end_once_completed_with_the_decoded_length_or_failed()
    {
        await using var saga = await SagaHarness.Start();
        var (done, failing) = (SagaHarness.Upload(NewHash()), SagaHarness.Upload(NewHash()));
        await saga.Publish(done);
        await saga.Publish(failing);
        await saga.WaitFor(done.SongId, "Separating");
        await saga.WaitFor(failing.SongId, "Separating");

        await saga.Publish(new StemsSeparatedAndEncoded { SongId = done.SongId, SongHash = done.SongHash, Stems = Stems(done.SongHash, "output", "mp3"), DurationSeconds = 20.5 });
        await saga.Publish(new SeparationRefused { SongId = failing.SongId, SongHash = failing.SongHash, Reason = "not audio", InputRejected = true });

        var completed = (await Eventually(() => saga.PublishedFor<SongFinished>(done.SongId, m => m.SongId))).Single();
        var failed = (await Eventually(() => saga.PublishedFor<SongFinished>(failing.SongId, m => m.SongId))).Single();
        Assert.Equal((false, 20.5), (completed.Failed, completed.DurationSeconds));
        Assert.Equal((true, (double?)null), (failed.Failed, failed.DurationSeconds));

        // Sent again once ended (no webhook to call; bytes refused before): each submission hears of its end at once.
        await saga.Publish(done);
        await saga.Publish(failing);
        await Eventually(() => saga.PublishedFor<SongFinished>(done.SongId, m => m.SongId), 2);
        Assert.True((await Eventually(() => saga.PublishedFor<SongFinished>(failing.SongId, m => m.SongId), 2)).All(f => f.Failed));
    }

    [Fact]
    public async Task Should_send_the_separation_again_on_resume_with_the_same_attempt_and_its_start()
    {
        await using var saga = await SagaHarness.Start();
        var upload = SagaHarness.Upload(NewHash());
        var started = saga.Clock.GetUtcNow();
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        saga.Clock.Advance(TimeSpan.FromMinutes(3));

        // The worker may have stored the stems before the process stopped: what it stored since the start is this attempt's.
        await saga.Publish(new ResumeSong { SongId = upload.SongId, Reason = "the service restarted while the song was in this stage" });

        var commands = await Eventually(() => saga.PublishedFor<SeparateStems>(upload.SongId, m => m.SongId), 2);
        Assert.Equal([(1, started), (1, started)], commands.Select(c => (c.Attempt, c.AttemptStartedAt!.Value)));
    }

    [Fact]
    public async Task Should_ask_for_a_webhook_again_after_a_restart_under_the_same_delivery_id()
    {
        await using var saga = await SagaHarness.Start();
        var (upload, other, first) = await ToTwoWebhooks(saga);
        Assert.NotEqual(first[0].DeliveryId, first[1].DeliveryId);
        await saga.Publish(new Notified { SongId = upload.SongId, Url = Hook.Url, Delivered = true, Attempts = 1, StatusCode = 200 });
        await saga.WaitFor(upload.SongId, "Notifying", s => s.PendingWebhooks == 1);

        // The process stopped while the other webhook was being delivered; the restarted one resumes the song.
        await saga.Publish(new ResumeSong { SongId = upload.SongId, Reason = "the service restarted while the song was in this stage" });

        var again = (await Eventually(() => saga.PublishedFor<DeliverWebhook>(upload.SongId, m => m.SongId), 3)).Skip(2).Single();
        Assert.Equal(other, again.Callback);
        Assert.Equal(first.Single(d => d.Callback == other).DeliveryId, again.DeliveryId);
        await saga.Publish(new Notified { SongId = upload.SongId, Url = other.Url, Delivered = true, Attempts = 1, StatusCode = 200 });
        await saga.WaitFor(upload.SongId, "Completed");
    }

    [Fact]
    public async Task Should_take_the_answer_for_a_delivery_once_when_the_broker_delivers_it_twice()
    {
        await using var saga = await SagaHarness.Start();
        var (upload, _, asked) = await ToTwoWebhooks(saga);
        var answer = new Notified { SongId = upload.SongId, DeliveryId = asked[0].DeliveryId, Url = asked[0].Callback.Url, Delivered = true, Attempts = 1, StatusCode = 200 };

        await saga.Publish(answer);
        await saga.WaitFor(upload.SongId, "Notifying", s => s.PendingWebhooks == 1);
        await saga.Publish(answer); // the same answer again, before the other delivery's
        await Eventually(() => saga.Harness.Consumed.Select<Notified>().ToList(), 2); // consumed by the saga

        var state = await saga.WaitFor(upload.SongId, "Notifying", s => s.PendingWebhooks == 1);
        Assert.Single(state.Webhooks);
        await saga.Publish(answer with { DeliveryId = asked[1].DeliveryId, Url = asked[1].Callback.Url });
        var done = await saga.WaitFor(upload.SongId, "Completed");
        Assert.Equal([asked[0].Callback.Url, asked[1].Callback.Url], done.Webhooks.Select(w => w.Url));
    }

    // A song with two webhooks (its own and another client's), separated and encoded: both deliveries asked for.
    private static async Task<(SongUploaded Upload, Callback Other, IReadOnlyList<DeliverWebhook> Asked)> ToTwoWebhooks(SagaHarness saga)
    {
        var other = new Callback { Url = "http://other.example/hook", Data = "\"theirs\"" };
        var upload = SagaHarness.Upload(NewHash(), Hook);
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(upload with { Callback = other });
        await saga.WaitFor(upload.SongId, "Separating", s => s.Callbacks.Count == 2);
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });
        await saga.WaitFor(upload.SongId, "Encoding");
        await saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "output", "mp3") });
        return (upload, other, await Eventually(() => saga.PublishedFor<DeliverWebhook>(upload.SongId, m => m.SongId), 2));
    }

    // Uploads a song and answers for the separation and encoding stages, as the services would.
    private static async Task RunToEncoded(SagaHarness saga, SongUploaded upload, string untilState)
    {
        await saga.Publish(upload);
        await saga.WaitFor(upload.SongId, "Separating");
        await saga.Publish(new StemsSeparated { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "work", "wav") });
        await saga.WaitFor(upload.SongId, "Encoding");
        await saga.Publish(new StemsEncoded { SongId = upload.SongId, SongHash = upload.SongHash, Stems = Stems(upload.SongHash, "output", "mp3") });
        await saga.WaitFor(upload.SongId, untilState);
    }

    private static async Task<IReadOnlyList<T>> Eventually<T>(Func<IReadOnlyList<T>> read, int count = 1)
    {
        var until = DateTime.UtcNow.AddSeconds(10);
        while (DateTime.UtcNow < until)
        {
            var items = read();
            if (items.Count >= count) return items;
            await Task.Delay(20);
        }
        return read();
    }
}
