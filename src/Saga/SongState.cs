using MassTransit;
using MSaaS.Contracts;

namespace MSaaS.Saga;

/// <summary>One song's journey through the pipeline: the saga instance, stored as JSON with a version.</summary>
public sealed class SongState : SagaStateMachineInstance, ISagaVersion
{
    public Guid CorrelationId { get; set; }

    /// <summary>Optimistic concurrency: every stored update must carry the version it was loaded at.</summary>
    public int Version { get; set; }

    public string CurrentState { get; set; } = "";

    public string SongHash { get; set; } = "";

    public StoredObject? Upload { get; set; }

    public string Model { get; set; } = "";

    public string Source { get; set; } = "";

    /// <summary>
    /// The W3C trace id of the submission that created the song (from the client's traceparent when it sent one): the
    /// trace that follows it through every stage to its webhook.
    /// </summary>
    public string? TraceId { get; set; }

    /// <summary>Every webhook registered for the song: the first upload's and those of duplicates.</summary>
    public List<Callback> Callbacks { get; set; } = [];

    /// <summary>Webhook deliveries asked for and not yet answered.</summary>
    public int PendingWebhooks { get; set; }

    /// <summary>
    /// Those deliveries, each with its id: after a restart each is asked for again under the same id, which the webhook
    /// carries, so that its receiver can tell a repeat. (Empty in a song stored before the ids were kept.)
    /// </summary>
    public List<PendingDelivery> Deliveries { get; set; } = [];

    public List<string> Formats { get; set; } = ["mp3"];

    public SeparationRequest Separation { get; set; } = new();

    /// <summary>0-100 over the whole journey: separation is most of it.</summary>
    public int Progress { get; set; }

    public int SeparationAttempts { get; set; }

    /// <summary>When the current separation attempt started (SeparateStems.AttemptStartedAt).</summary>
    public DateTimeOffset? SeparationStartedAt { get; set; }

    /// <summary>
    /// Seconds from the start that every stem's live parts of the current separation attempt cover (0 before the first,
    /// and for a song whose worker does not encode while it separates).
    /// </summary>
    public double LiveSeconds { get; set; }

    /// <summary>The worker's run whose live parts <see cref="LiveSeconds"/> counts (SongObjects.LivePart); null before any.</summary>
    public Guid? LiveRun { get; set; }

    /// <summary>
    /// How many live parts of every stem of <see cref="LiveRun"/> are stored whole; null before any, and when its worker
    /// does not count them (LivePartsStored.Parts).
    /// </summary>
    public int? LiveParts { get; set; }

    public int EncodingAttempts { get; set; }

    /// <summary>When the current stage must have answered; null when nothing is awaited.</summary>
    public DateTimeOffset? Deadline { get; set; }

    /// <summary>Lossless stems between separation and encoding.</summary>
    public Dictionary<string, StoredObject>? WorkStems { get; set; }

    /// <summary>The finished MP3 stems.</summary>
    public Dictionary<string, StoredObject>? Stems { get; set; }

    public double DurationSeconds { get; set; }

    public string? LastError { get; set; }

    /// <summary>The stage a failed song failed in, for a retry to resume from.</summary>
    public string? FailedStage { get; set; }

    /// <summary>The song failed because its bytes are not audio that decodes: the same bytes again will fail the same way.</summary>
    public bool InputRejected { get; set; }

    /// <summary>How each webhook delivery went, the last <see cref="SongStateMachine.MaxRecords"/> of them.</summary>
    public List<WebhookOutcome> Webhooks { get; set; } = [];

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    /// <summary>What happened, oldest first: the first entries and the last ones (<see cref="SongStateMachine.MaxRecords"/> in all).</summary>
    public List<SongTransition> History { get; set; } = [];
}

/// <summary>One entry of a song's history: a state entered, or something that happened within one.</summary>
public sealed record SongTransition(DateTimeOffset At, string State, string What);

/// <summary>How one webhook delivery went.</summary>
public sealed record WebhookOutcome(string? Url, bool Delivered, int Attempts, int? StatusCode, string? Error);

/// <summary>A webhook delivery asked for and not yet answered.</summary>
public sealed record PendingDelivery(Guid Id, Callback Callback);
