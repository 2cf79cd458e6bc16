using System.Security.Cryptography;
using System.Text.Json;
using MassTransit;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Api.Compat;

/// <summary>
/// Serves legacy producers that LPUSH work onto "toWorker". Each message is moved atomically (LMOVE, oldest
/// first) to this adapter's own processing list and removed from it only once <see cref="SongUploaded"/> is
/// published, so a crash loses nothing: on start an adapter takes back its own unfinished messages, and those of
/// any adapter whose heartbeat has expired. A message that can never succeed (not understood, a song that does not
/// exist, a name no store can hold) is set aside at once on "toWorker:dead" with the reason. A message that fails
/// otherwise goes to the back of the queue, and the adapter waits (doubling, up to a minute) before it reads again;
/// it is set aside after <see cref="CompatOptions.MaxAttempts"/> failures while the store answered other look-ups,
/// so that an outage of the store or the bus sets no good message aside.
/// </summary>
public sealed class ToWorkerAdapter(IConnectionMultiplexer redis, SongIntake intake, IObjectStore store, LegacyLog log, Clients.IClientSongs holders,
    IOptions<CompatOptions> options, IOptions<ApiOptions> api, TimeProvider clock, IHostApplicationLifetime lifetime, ILogger<ToWorkerAdapter> logger)
    : BackgroundService
{
    /// <summary>How much of a message a dead-letter record keeps.</summary>
    public const int DeadLetterMessageLength = 2048;

    private readonly CompatOptions _options = options.Value;
    private readonly string _id = options.Value.InstanceId ?? Environment.MachineName;
    private DateTimeOffset _nextHousekeeping;
    private bool _handBackOwn = true; // at start, and after a failure that may have left a message in the processing list
    private int _failuresInARow;

    /// <summary>How long to wait before the next read: zero unless the last messages failed.</summary>
    public TimeSpan Backoff { get; private set; }

    private string Queue => _options.QueueKey;
    private string Processing(string id) => $"{Queue}:processing:{id}";
    private string Owner(string id) => $"{Queue}:owner:{id}";
    private string Owners => $"{Queue}:owners";
    private string Attempts => $"{Queue}:attempts"; // SHA-256 of a message -> its counted failures, shared by every adapter
    public string DeadLetters => $"{Queue}:dead";

    private IDatabase Db => redis.GetDatabase();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        // Not before every hosted service has started, the bus among them: a song announced on an in-memory bus whose
        // saga endpoint is not running yet would be lost, and its message already gone from the list.
        var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
            await started.Task.WaitAsync(stoppingToken);
        logger.LogInformation("reading {Queue} as {Id}", Queue, _id);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // This adapter's own unfinished messages (from before a crash or restart, or left by a failure) go back first.
                if (_handBackOwn) await Requeue(_id, stoppingToken);
                _handBackOwn = false;
                if (!await PollOnce(stoppingToken)) await Task.Delay(_options.PollInterval, clock, stoppingToken);
                else if (Backoff > TimeSpan.Zero) await Task.Delay(Backoff, clock, stoppingToken);
            }
            catch (RedisException e)
            {
                // Never stop the host over a Redis outage: what was taken stays in the processing list, handed back next.
                _handBackOwn = true;
                logger.LogWarning("reading {Queue} failed ({Reason}); trying again", Queue, e.Message);
                await Task.Delay(_options.RetryDelay, clock, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // A fault of this service's own, not of a message: logged whole, and the adapter goes on.
                _handBackOwn = true;
                logger.LogError(e, "reading {Queue} failed; trying again", Queue);
                await Task.Delay(_options.RetryDelay, clock, stoppingToken);
            }
        }
    }

    /// <summary>Takes and handles one message; false when the queue was empty.</summary>
    public async Task<bool> PollOnce(CancellationToken cancellationToken)
    {
        if (clock.GetUtcNow() >= _nextHousekeeping) await Housekeeping(cancellationToken);
        // The oldest message (the tail) moves to the head of this adapter's processing list in one command.
        var message = await Db.ListMoveAsync(Queue, Processing(_id), ListSide.Right, ListSide.Left).WaitAsync(cancellationToken);
        if (message.IsNull) return false;
        try
        {
            await Handle(message, cancellationToken);
        }
        catch (Exception e) when (e is not RedisException && !cancellationToken.IsCancellationRequested)
        {
            await Failed(message, e, cancellationToken);
            return true;
        }
        (_failuresInARow, Backoff) = (0, TimeSpan.Zero);
        return true;
    }

    // A message that could not be accepted for a reason that may pass: back to the queue, behind the others, unless it
    // has failed too often while the store was answering.
    // Its failures are counted in Redis (every adapter's, across restarts), kept a day after the last.
    private async Task Failed(RedisValue message, Exception error, CancellationToken cancellationToken)
    {
        var reason = ClientText.Cut(error.Message, 300);
        var fingerprint = Fingerprint(message);
        long attempts;
        if (await IsOutage(error, cancellationToken)) attempts = (long?)await Db.HashGetAsync(Attempts, fingerprint) ?? 0;
        else
        {
            var counting = Db.CreateTransaction();
            var counted = counting.HashIncrementAsync(Attempts, fingerprint);
            _ = counting.KeyExpireAsync(Attempts, TimeSpan.FromDays(1));
            await counting.ExecuteAsync().WaitAsync(CancellationToken.None);
            attempts = await counted;
        }
        if (attempts >= _options.MaxAttempts)
        {
            await SetAside(message, $"not accepted in {attempts} attempts while the store answered: {reason}", cancellationToken);
            return;
        }
        _failuresInARow++;
        Backoff = TimeSpan.FromTicks(Math.Min(_options.MaxRetryDelay.Ticks,
            _options.RetryDelay.Ticks * (1L << Math.Min(_failuresInARow - 1, 30))));
        logger.LogWarning("could not accept a {Queue} message ({Reason}); it goes to the back of the queue, read again in {Seconds:0.#} s",
            Queue, reason, Backoff.TotalSeconds);
        // The queue's newest end: the messages behind it are read first. Intact, so that it can be read again.
        var transaction = Db.CreateTransaction();
        _ = transaction.ListRemoveAsync(Processing(_id), message, 1);
        _ = transaction.ListLeftPushAsync(Queue, message);
        await transaction.ExecuteAsync().WaitAsync(CancellationToken.None);
    }

    // Whether the failure was the service's (the bus or the store away) rather than the message's: the bus's own errors
    // and time-outs are, and so is any failure while the store does not answer a look-up of another object.
    private async Task<bool> IsOutage(Exception error, CancellationToken cancellationToken)
    {
        if (error is MassTransitException or OperationCanceledException or TimeoutException) return true;
        try
        {
            await store.StatAsync(SongObjects.Upload(new string('0', 56)), cancellationToken);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return true; // whatever the store says, it did not answer
        }
    }

    // The message's bytes as Redis holds them (whatever their encoding), hashed.
    private static string Fingerprint(RedisValue message) => Convert.ToHexStringLower(SHA256.HashData((byte[])message!));

    // Redis commands name the message by its bytes as stored (LREM compares bytes); only parsing decodes it.
    private async Task Handle(RedisValue message, CancellationToken cancellationToken)
    {
        LegacyRequest request;
        try
        {
            request = LegacyRequest.Parse(message!);
        }
        catch (FormatException e)
        {
            await SetAside(message, e.Message, cancellationToken);
            return;
        }
        if (Models.Resolve(request.Model) is not { } model)
        {
            await SetAside(message, $"unknown model {ClientText.Quote(request.Model)}", cancellationToken);
            return;
        }
        if (request.Callback is { } callback && await TargetGuard.CheckAsync(callback.Url, api.Value.AllowPrivateCallbacks, cancellationToken) is { } refusal)
        {
            await SetAside(message, refusal, cancellationToken);
            return;
        }
        if (await store.StatAsync(new ObjectKey(request.Upload.Bucket, request.Upload.Name), cancellationToken) is null)
        {
            await SetAside(message, $"the song {request.Upload} does not exist", cancellationToken);
            return;
        }
        if (request.OutputBucket is { } output && output != SongObjects.StemBucket)
            await log.WriteAsync("worker", "info", $"song {request.SongHash}: output_bucket {ClientText.Quote(output)} ignored, stems go to {SongObjects.StemBucket}");

        // A legacy producer has no key: under Api:Clients=both its songs are the anonymous client's (not charged: their
        // length is not probed here); under keys they are nobody's but the support routes'.
        if (api.Value.Clients == Clients.ClientAccess.Both) await holders.AddAsync(Clients.ClientKeys.Anonymous, request.SongHash, cancellationToken);
        // Only once the bus has the song may the message leave the processing list.
        await intake.AnnounceAsync(request.SongHash, request.Upload, model, request.Callback, "toWorker", cancellationToken);
        var done = Db.CreateTransaction();
        _ = done.ListRemoveAsync(Processing(_id), message, 1);
        _ = done.HashDeleteAsync(Attempts, Fingerprint(message));
        await done.ExecuteAsync().WaitAsync(cancellationToken);
        await log.WriteAsync("worker", "info", $"song {request.SongHash} accepted from {Queue}");
    }

    // The record keeps the message's start (a message may be megabytes), its length and SHA-256; the list keeps the newest.
    private async Task SetAside(RedisValue message, string reason, CancellationToken cancellationToken)
    {
        reason = ClientText.Cut(reason, 500);
        logger.LogWarning("setting aside a {Queue} message: {Reason}", Queue, reason);
        var (text, fingerprint) = ((string)message!, Fingerprint(message));
        var record = JsonSerializer.Serialize(new
        {
            message = text.Length > DeadLetterMessageLength ? text[..DeadLetterMessageLength] : text,
            length = text.Length, sha256 = fingerprint, reason, at = clock.GetUtcNow(),
        });
        var transaction = Db.CreateTransaction();
        _ = transaction.ListLeftPushAsync(DeadLetters, record);
        _ = transaction.ListTrimAsync(DeadLetters, 0, _options.DeadLetterCap - 1);
        _ = transaction.ListRemoveAsync(Processing(_id), message, 1);
        _ = transaction.HashDeleteAsync(Attempts, fingerprint);
        await transaction.ExecuteAsync().WaitAsync(cancellationToken);
        await log.WriteAsync("worker", "error", $"{Queue} message set aside on {DeadLetters}: {reason}");
    }

    // Heartbeat, and recovery of the messages of adapters that died.
    private async Task Housekeeping(CancellationToken cancellationToken)
    {
        _nextHousekeeping = clock.GetUtcNow() + _options.OwnerTimeout / 3;
        await Db.StringSetAsync(Owner(_id), clock.GetUtcNow().ToString("O"), _options.OwnerTimeout).WaitAsync(cancellationToken);
        await Db.SetAddAsync(Owners, _id).WaitAsync(cancellationToken);
        foreach (var other in await Db.SetMembersAsync(Owners).WaitAsync(cancellationToken))
        {
            if (other == _id || await Db.KeyExistsAsync(Owner(other!)).WaitAsync(cancellationToken)) continue;
            var moved = await Requeue(other!, cancellationToken);
            await Db.SetRemoveAsync(Owners, other).WaitAsync(cancellationToken);
            if (moved > 0) logger.LogWarning("took back {Count} unfinished messages of adapter {Id}", moved, (string?)other);
        }
    }

    // Hands a processing list's messages back to the queue's tail, where they are read next (LMOVE, one at a time:
    // each move is atomic, so a crash here loses none).
    private async Task<int> Requeue(string id, CancellationToken cancellationToken)
    {
        var moved = 0;
        while (!(await Db.ListMoveAsync(Processing(id), Queue, ListSide.Right, ListSide.Right).WaitAsync(cancellationToken)).IsNull) moved++;
        return moved;
    }
}
