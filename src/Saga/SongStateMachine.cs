using System.Diagnostics;
using MassTransit;
using Microsoft.Extensions.Options;
using MSaaS.Contracts;
using MSaaS.Storage;

namespace MSaaS.Saga;

/// <summary>
/// A song's journey: uploaded -> Separating -> Encoding -> Notifying -> Completed, or Failed. Each stage has a
/// deadline in the state itself (fired by <c>DeadlineWatcher</c>, so it survives restarts and needs no broker
/// plugin) and a bounded number of attempts. The song id is derived from the song's hash, so a duplicate
/// submission lands on the same instance: in flight it is not separated twice, finished it is served at once.
/// </summary>
public sealed class SongStateMachine : MassTransitStateMachine<SongState>
{
    public const int SeparatedProgress = 90;
    public const int EncodedProgress = 98;

    /// <summary>
    /// How many history entries and webhook outcomes a song keeps: a song sent again and again (each duplicate notes
    /// itself) must not grow without bound. The history keeps its first entries and the latest.
    /// </summary>
    public const int MaxRecords = 100;

    private readonly PipelineOptions _options;
    private readonly TimeProvider _clock;

    public SongStateMachine(IOptions<PipelineOptions> options, TimeProvider clock)
    {
        _options = options.Value;
        _clock = clock;

        InstanceState(x => x.CurrentState);
        Event(() => Uploaded, e => e.CorrelateById(m => m.Message.SongId));
        Event(() => Progressed, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => LiveStored, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Separated, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => SeparatedAndEncoded, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Encoded, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => WebhookDone, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => TimedOut, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Retry, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Removed, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Resume, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => Refused, e => { e.CorrelateById(m => m.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => SeparationFaulted, e => { e.CorrelateById(m => m.Message.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => EncodingFaulted, e => { e.CorrelateById(m => m.Message.Message.SongId); e.OnMissingInstance(m => m.Discard()); });
        Event(() => WebhookFaulted, e => { e.CorrelateById(m => m.Message.Message.SongId); e.OnMissingInstance(m => m.Discard()); });

        // Every transition is timestamped in the song's history.
        BeforeEnterAny(x => x.Then(c => Note(c.Saga, c.Message.Name, "entered")));
        // Whoever keeps account of songs (the clients' usage) hears of each end, however it was reached.
        WhenEnter(Completed, x => x.Publish(c => Finished(c.Saga, failed: false)));
        WhenEnter(Failed, x => x.Publish(c => Finished(c.Saga, failed: true)));

        Initially(
            When(Uploaded)
                .Then(c => Accept(c.Saga, c.Message))
                .Then(c => StartSeparation(c.Saga))
                .Publish(c => SeparateCommand(c.Saga))
                .TransitionTo(Separating));

        During(Separating,
            When(Progressed)
                .Then(c => OnProgress(c.Saga, c.Message)),
            When(LiveStored, c => c.Message.Attempt == c.Saga.SeparationAttempts)
                .Then(c => OnLiveStored(c.Saga, c.Message)),
            When(LiveStored, c => c.Message.Attempt != c.Saga.SeparationAttempts),
            When(Separated)
                .Then(c => OnSeparated(c.Saga, c.Message))
                .Publish(c => EncodeCommand(c.Saga))
                .TransitionTo(Encoding),
            // The worker encoded the stems as it separated them: they are final, no encoding stage.
            NotifyOrFinish(When(SeparatedAndEncoded, c => IsComplete(c.Message.Stems))
                .Then(c => OnSeparatedAndEncoded(c.Saga, c.Message))),
            When(SeparatedAndEncoded, c => !IsComplete(c.Message.Stems))
                .Then(c => Fail(c.Saga, SongStates.Separating, "the separation worker reported stems that are not the four: " +
                                                      string.Join(", ", c.Message.Stems.Keys.Order(StringComparer.Ordinal))))
                .TransitionTo(Failed),
            When(Refused)
                .Then(c => Fail(c.Saga, SongStates.Separating, c.Message.Reason))
                .Then(c => c.Saga.InputRejected = c.Message.InputRejected)
                .TransitionTo(Failed),
            When(SeparationFaulted)
                .Then(c => Fail(c.Saga, SongStates.Separating, FaultText(c.Message)))
                .Then(c => c.Saga.InputRejected = c.Message.Exceptions.Any(e => e.ExceptionType == typeof(MSaaS.Audio.AudioFormatException).FullName))
                .TransitionTo(Failed),
            RetryOrFail(Separating, "separation", s => s.SeparationAttempts, StartSeparation, SeparateCommand));

        During(Encoding,
            NotifyOrFinish(When(Encoded)
                .Then(c => OnEncoded(c.Saga, c.Message))),
            When(EncodingFaulted)
                .Then(c => Fail(c.Saga, SongStates.Encoding, FaultText(c.Message)))
                .TransitionTo(Failed),
            RetryOrFail(Encoding, "encoding", s => s.EncodingAttempts, StartEncoding, EncodeCommand));

        // The stems are done whatever the webhook does: its failure is recorded, never the song's.
        During(Notifying,
            When(WebhookDone)
                .Then(c => Answered(c.Saga, new WebhookOutcome(c.Message.Url, c.Message.Delivered, c.Message.Attempts, c.Message.StatusCode, c.Message.Error), c.Message.DeliveryId))
                .If(c => c.Saga.PendingWebhooks == 0, done => done.Then(c => Finish(c.Saga)).TransitionTo(Completed)),
            When(WebhookFaulted)
                .Then(c => Answered(c.Saga, new WebhookOutcome(c.Message.Message.Callback.Url, false, 0, null, FaultText(c.Message)), c.Message.Message.DeliveryId))
                .If(c => c.Saga.PendingWebhooks == 0, done => done.Then(c => Finish(c.Saga)).TransitionTo(Completed)),
            When(TimedOut, c => IsDue(c.Saga, c.Message, nameof(Notifying)))
                .Then(c => Answered(c.Saga, new WebhookOutcome(null, false, 0, null, $"{c.Saga.PendingWebhooks} webhook(s) unanswered when the stage timed out"), null, all: true))
                .Then(c => Finish(c.Saga))
                .TransitionTo(Completed));

        // A duplicate of a song in flight joins it (its webhook is called with the others'); a duplicate of a
        // finished song is served at once, and told so if it asks.
        During(Separating, Encoding,
            When(Uploaded)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"duplicate submission from {c.Message.Source} joined the song in flight"))
                .Then(c => Register(c.Saga, c.Message.Callback)));
        During(Notifying,
            When(Uploaded)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"duplicate submission from {c.Message.Source} joined the song in flight"))
                .If(c => Register(c.Saga, c.Message.Callback), notify => notify.ThenAsync(c => Notify(c, [c.Message.Callback!]))));
        During(Completed,
            When(Uploaded)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"duplicate submission from {c.Message.Source}: stems already there"))
                .IfElse(c => c.Message.Callback is not null,
                    notify => notify
                        .Then(c => Register(c.Saga, c.Message.Callback))
                        .ThenAsync(c => Notify(c, [c.Message.Callback!]))
                        .TransitionTo(Notifying),
                    // Ended again at once: whoever counted this submission hears that it is done.
                    done => done.Publish(c => Finished(c.Saga, failed: false))));
        // A worker given up on (its deadline passed) that still finished stored the final stems: the song is done after all.
        During(Failed,
            NotifyOrFinish(When(SeparatedAndEncoded, c => c.Saga.FailedStage == nameof(Separating) && IsComplete(c.Message.Stems))
                .Then(c => Note(c.Saga, c.Saga.CurrentState, "a separation given up on finished after all, its stems stored"))
                .Then(c => OnSeparatedAndEncoded(c.Saga, c.Message))
                .Then(c => (c.Saga.FailedStage, c.Saga.LastError) = (null, null))),
            When(SeparatedAndEncoded, c => c.Saga.FailedStage != nameof(Separating) || !IsComplete(c.Message.Stems)));
        During(Failed,
            // The same bytes that did not decode will not decode now: the song stays failed (support can retry it).
            When(Uploaded, c => c.Saga.InputRejected)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"submitted again from {c.Message.Source}: refused, its bytes were refused before"))
                .Publish(c => Finished(c.Saga, failed: true)),
            When(Uploaded, c => !c.Saga.InputRejected)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"submitted again from {c.Message.Source}: retrying"))
                .Then(c => Register(c.Saga, c.Message.Callback))
                .Then(c => ResetAttempts(c.Saga))
                .Then(c => StartSeparation(c.Saga))
                .Publish(c => SeparateCommand(c.Saga))
                .TransitionTo(Separating),
            When(Retry)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"retry asked by {c.Message.RequestedBy}"))
                .Then(c => ResetAttempts(c.Saga))
                .IfElse(c => c.Saga.FailedStage == nameof(Encoding) && c.Saga.WorkStems is not null,
                    encode => encode
                        .Then(c => StartEncoding(c.Saga))
                        .Publish(c => EncodeCommand(c.Saga))
                        .TransitionTo(Encoding),
                    separate => separate
                        .Then(c => StartSeparation(c.Saga))
                        .Publish(c => SeparateCommand(c.Saga))
                        .TransitionTo(Separating)));

        // The process that held a stage's command stopped without finishing it (the in-memory bus of the embedded mode
        // keeps nothing): the stage is sent again, as it was, without counting an attempt against the song.
        During(Separating,
            When(Resume)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"resumed: {c.Message.Reason}"))
                .Then(c => Await(c.Saga, _options.QueueTimeout))
                .Publish(c => SeparateCommand(c.Saga)));
        During(Encoding,
            When(Resume)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"resumed: {c.Message.Reason}"))
                .Then(c => Await(c.Saga, _options.QueueTimeout))
                .Publish(c => EncodeCommand(c.Saga)));
        During(Notifying,
            When(Resume)
                .Then(c => Note(c.Saga, c.Saga.CurrentState, $"resumed: {c.Message.Reason}"))
                .ThenAsync(c => Renotify(c))
                .If(c => c.Saga.PendingWebhooks == 0, done => done.Then(c => Finish(c.Saga)).TransitionTo(Completed)));

        // A song whose stems were all deleted is forgotten: the saga ends and its record is deleted.
        During(Completed, Failed, When(Removed).Finalize());
        SetCompletedWhenFinalized();

        // Late answers from an attempt that was given up on, or a stage's events after the song moved on.
        IgnoreIn([Encoding, Notifying, Completed, Failed], Progressed, LiveStored, Refused, SeparationFaulted);
        IgnoreIn([Encoding, Notifying, Completed, Failed], Separated);
        IgnoreIn([Encoding, Notifying, Completed], SeparatedAndEncoded);
        IgnoreIn([Separating, Notifying, Completed, Failed], Encoded, EncodingFaulted);
        IgnoreIn([Separating, Encoding, Completed, Failed], WebhookDone, WebhookFaulted);
        IgnoreIn([Completed, Failed], TimedOut);
        IgnoreIn([Separating, Encoding, Notifying, Completed], Retry);
        IgnoreIn([Separating, Encoding, Notifying], Removed);
        IgnoreIn([Completed, Failed], Resume);
    }

    public State Separating { get; private set; } = null!;
    public State Encoding { get; private set; } = null!;
    public State Notifying { get; private set; } = null!;
    public State Completed { get; private set; } = null!;
    public State Failed { get; private set; } = null!;

    public Event<SongUploaded> Uploaded { get; private set; } = null!;
    public Event<SeparationProgressed> Progressed { get; private set; } = null!;
    public Event<LivePartsStored> LiveStored { get; private set; } = null!;
    public Event<StemsSeparated> Separated { get; private set; } = null!;
    public Event<StemsSeparatedAndEncoded> SeparatedAndEncoded { get; private set; } = null!;
    public Event<StemsEncoded> Encoded { get; private set; } = null!;
    public Event<Notified> WebhookDone { get; private set; } = null!;
    public Event<StageTimedOut> TimedOut { get; private set; } = null!;
    public Event<RetrySong> Retry { get; private set; } = null!;
    public Event<SongRemoved> Removed { get; private set; } = null!;
    public Event<ResumeSong> Resume { get; private set; } = null!;
    public Event<SeparationRefused> Refused { get; private set; } = null!;
    public Event<Fault<SeparateStems>> SeparationFaulted { get; private set; } = null!;
    public Event<Fault<EncodeStems>> EncodingFaulted { get; private set; } = null!;
    public Event<Fault<DeliverWebhook>> WebhookFaulted { get; private set; } = null!;

    private void IgnoreIn(State[] states, params Event[] events)
    {
        foreach (var state in states)
            foreach (var e in events)
                During(state, Ignore(e));
    }

    // A stage whose deadline passed is sent again, until its attempts are spent; then the song fails.
    private EventActivityBinder<SongState, StageTimedOut> RetryOrFail(State stage, string what, Func<SongState, int> attempts,
        Action<SongState, string?> restart, Func<SongState, object> command) =>
        When(TimedOut, c => IsDue(c.Saga, c.Message, stage.Name))
            .IfElse(c => attempts(c.Saga) < _options.MaxAttempts,
                retry => retry
                    .Then(c => restart(c.Saga, $"no answer by {c.Message.Deadline:u}"))
                    .ThenAsync(c => c.Publish(command(c.Saga))),
                give => give
                    .Then(c => Fail(c.Saga, stage.Name, $"{what} timed out {attempts(c.Saga)} times"))
                    .TransitionTo(Failed));

    // The stems are final: the webhooks are called, or the song is complete when it has none.
    private EventActivityBinder<SongState, T> NotifyOrFinish<T>(EventActivityBinder<SongState, T> stored) where T : class =>
        stored.IfElse(c => c.Saga.Callbacks.Count > 0,
            notify => notify
                .ThenAsync(c => Notify(c, c.Saga.Callbacks))
                .TransitionTo(Notifying),
            done => done
                .Then(c => Finish(c.Saga))
                .TransitionTo(Completed));

    // Only the deadline the song is waiting on now counts: a repeat, or one from an earlier attempt, is stale.
    private static bool IsDue(SongState saga, StageTimedOut message, string stage) =>
        message.Stage == stage && saga.Deadline is { } deadline && message.Deadline >= deadline;

    private void Accept(SongState saga, SongUploaded message)
    {
        saga.SongHash = message.SongHash;
        saga.Upload = message.Upload;
        saga.Model = message.Model;
        saga.Source = message.Source;
        Register(saga, message.Callback);
        saga.Formats = [.. message.Formats];
        saga.Separation = message.Separation;
        saga.CreatedAt = _clock.GetUtcNow();
        // The consume activity continues the submitting request's trace (MassTransit carries it in the message headers).
        saga.TraceId = Activity.Current?.TraceId.ToHexString();
        Note(saga, "Initial", $"uploaded from {message.Source}");
    }

    private void StartSeparation(SongState saga, string? why = null)
    {
        saga.SeparationAttempts++;
        saga.SeparationStartedAt = _clock.GetUtcNow();
        saga.Progress = 0;
        saga.LiveSeconds = 0;
        saga.LiveRun = null;
        saga.LiveParts = null;
        saga.LastError = null;
        Await(saga, _options.QueueTimeout);
        if (why is not null) Note(saga, saga.CurrentState, $"separation attempt {saga.SeparationAttempts}: {why}");
    }

    private void StartEncoding(SongState saga, string? why = null)
    {
        saga.EncodingAttempts++;
        saga.Progress = SeparatedProgress;
        saga.LastError = null;
        Await(saga, _options.QueueTimeout);
        if (why is not null) Note(saga, saga.CurrentState, $"encoding attempt {saga.EncodingAttempts}: {why}");
    }

    private void OnProgress(SongState saga, SeparationProgressed message)
    {
        if (message.SegmentsTotal > 0)
            saga.Progress = Math.Clamp(SeparatedProgress * message.SegmentsDone / message.SegmentsTotal, saga.Progress, SeparatedProgress);
        if (message.SongSeconds > 0) saga.DurationSeconds = message.SongSeconds; // known from the first event on, not only at the end
        Await(saga, _options.StallTimeout); // a sign of life: the stage has started and is moving
        saga.UpdatedAt = _clock.GetUtcNow(); // heard of now: a song waiting in the queue is one that is not
    }

    // Live parts are a sign of life too. Seconds only grow within a run (events may arrive out of order); another run of
    // the attempt (the song handed to another worker) starts over, and listeners of the old one are cut off.
    private void OnLiveStored(SongState saga, LivePartsStored message)
    {
        if (saga.LiveRun != message.Run) (saga.LiveRun, saga.LiveSeconds, saga.LiveParts) = (message.Run, 0, null);
        saga.LiveSeconds = Math.Max(saga.LiveSeconds, message.Seconds);
        saga.LiveParts = message.Parts is { } parts ? Math.Max(saga.LiveParts ?? 0, parts) : null;
        Await(saga, _options.StallTimeout);
        saga.UpdatedAt = _clock.GetUtcNow();
    }

    private void OnSeparated(SongState saga, StemsSeparated message)
    {
        saga.WorkStems = new Dictionary<string, StoredObject>(message.Stems);
        saga.DurationSeconds = message.DurationSeconds;
        StartEncoding(saga);
    }

    private static void OnEncoded(SongState saga, StemsEncoded message)
    {
        saga.Stems = new Dictionary<string, StoredObject>(message.Stems);
        saga.Progress = EncodedProgress;
    }

    // All four stems, and nothing else: a worker's report that is not is refused rather than taken as a song without stems.
    private static bool IsComplete(IReadOnlyDictionary<string, StoredObject> stems) =>
        stems.Count == MSaaS.Audio.Stems.Names.Count && MSaaS.Audio.Stems.Names.All(stems.ContainsKey);

    private static void OnSeparatedAndEncoded(SongState saga, StemsSeparatedAndEncoded message)
    {
        saga.WorkStems = null;
        saga.DurationSeconds = message.DurationSeconds;
        saga.Stems = new Dictionary<string, StoredObject>(message.Stems);
        saga.Progress = EncodedProgress;
    }

    private static void Finish(SongState saga)
    {
        saga.Progress = 100;
        saga.Deadline = null;
    }

    private void Fail(SongState saga, string stage, string error)
    {
        saga.FailedStage = stage;
        saga.LastError = error;
        saga.Deadline = null;
        Note(saga, stage, "failed: " + error);
    }

    private static void ResetAttempts(SongState saga)
    {
        saga.SeparationAttempts = 0;
        saga.EncodingAttempts = 0;
        saga.InputRejected = false;
    }

    private void Await(SongState saga, TimeSpan timeout) => saga.Deadline = _clock.GetUtcNow() + timeout;

    private void Note(SongState saga, string state, string what)
    {
        var now = _clock.GetUtcNow();
        saga.History.Add(new SongTransition(now, state, what));
        // Keep how it began and how it is going: drop from the middle.
        if (saga.History.Count > MaxRecords) saga.History.RemoveAt(MaxRecords / 4);
        saga.UpdatedAt = now;
    }

    // The formats go with the command (so the worker encodes while it separates) unless Pipeline:EncodeWhileSeparating is off.
    private SeparateStems SeparateCommand(SongState saga) => new()
    {
        SongId = saga.CorrelationId, SongHash = saga.SongHash, Upload = saga.Upload!, Model = saga.Model,
        Separation = saga.Separation, Attempt = saga.SeparationAttempts, AttemptStartedAt = saga.SeparationStartedAt,
        Formats = _options.EncodeWhileSeparating ? saga.Formats : [],
    };

    private static SongFinished Finished(SongState saga, bool failed) => new()
    {
        SongId = saga.CorrelationId, SongHash = saga.SongHash, Failed = failed, DurationSeconds = saga.DurationSeconds > 0 ? saga.DurationSeconds : null,
    };

    private static EncodeStems EncodeCommand(SongState saga) => new()
    {
        SongId = saga.CorrelationId, SongHash = saga.SongHash, Stems = saga.WorkStems!, Formats = saga.Formats, Attempt = saga.EncodingAttempts,
    };

    // Adds a webhook not yet registered; true when it was new.
    private static bool Register(SongState saga, Callback? callback)
    {
        if (callback is null || saga.Callbacks.Contains(callback)) return false;
        saga.Callbacks.Add(callback);
        return true;
    }

    private async Task Notify(BehaviorContext<SongState> context, IEnumerable<Callback> callbacks)
    {
        foreach (var callback in callbacks)
        {
            var delivery = new PendingDelivery(Guid.NewGuid(), callback);
            context.Saga.Deliveries.Add(delivery);
            await Deliver(context, delivery);
            context.Saga.PendingWebhooks++;
        }
        Await(context.Saga, _options.NotifyTimeout);
    }

    private static Task Deliver(BehaviorContext<SongState> context, PendingDelivery delivery) => context.Publish(new DeliverWebhook
    {
        SongId = context.Saga.CorrelationId, SongHash = context.Saga.SongHash, Callback = delivery.Callback, DeliveryId = delivery.Id,
    });

    // The webhooks that have no answer yet, asked for again: each under the id it was first asked for with; those of a
    // song stored before the ids were kept (no delivery of theirs, no answer) under new ids.
    private async Task Renotify(BehaviorContext<SongState> context)
    {
        var saga = context.Saga;
        var known = saga.Webhooks.Select(w => w.Url).Concat(saga.Deliveries.Select(d => d.Callback.Url)).ToHashSet(StringComparer.Ordinal);
        var untracked = saga.Callbacks.Where(c => !known.Contains(c.Url)).ToList();
        foreach (var delivery in saga.Deliveries) await Deliver(context, delivery);
        saga.PendingWebhooks = saga.Deliveries.Count;
        if (untracked.Count > 0) await Notify(context, untracked);
        else if (saga.PendingWebhooks > 0) Await(saga, _options.NotifyTimeout);
    }

    // An answer for a delivery: the delivery is no longer pending. An answer naming a delivery that is not pending (a
    // broker's redelivery answered twice) changes nothing; one without an id (from a version before them) matches by URL.
    private static void Answered(SongState saga, WebhookOutcome outcome, Guid? deliveryId, bool all = false)
    {
        if (all) saga.Deliveries.Clear();
        else if (saga.Deliveries.FindIndex(d => deliveryId is { } id ? d.Id == id : d.Callback.Url == outcome.Url) is >= 0 and var answered)
            saga.Deliveries.RemoveAt(answered);
        else if (deliveryId is not null) return;
        saga.Webhooks.Add(outcome);
        if (saga.Webhooks.Count > MaxRecords) saga.Webhooks.RemoveAt(0);
        saga.PendingWebhooks = all ? 0 : Math.Max(0, saga.PendingWebhooks - 1);
    }

    private static string FaultText<T>(Fault<T> fault) =>
        fault.Exceptions.FirstOrDefault() is { } e ? $"{e.ExceptionType.Split('.')[^1]}: {e.Message}" : "the stage failed";
}
