using System.Text.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.Notifications;
using MSaaS.Storage;
using StackExchange.Redis;

namespace MSaaS.Api.Compat;

/// <summary>
/// Serves legacy producers that LPUSH work onto "toWorker". Each message is moved atomically (LMOVE, oldest
/// first) to this adapter's own processing list and removed from it only once <see cref="SongUploaded"/> is
/// published, so a crash loses nothing: on start an adapter takes back its own unfinished messages, and those of
/// any adapter whose heartbeat has expired. A message that cannot be understood is set aside on
/// "toWorker:dead" with the reason, and logged, never retried for ever.
/// </summary>
public sealed class ToWorkerAdapter(IConnectionMultiplexer redis, SongIntake intake, IObjectStore store, LegacyLog log,
    IOptions<CompatOptions> options, IOptions<ApiOptions> api, TimeProvider clock, ILogger<ToWorkerAdapter> logger) : BackgroundService
{
    private readonly CompatOptions _options = options.Value;
    private readonly string _id = options.Value.InstanceId ?? Environment.MachineName;
    private DateTimeOffset _nextHousekeeping;

    private string Queue => _options.QueueKey;
    private string Processing(string id) => $"{Queue}:processing:{id}";
    private string Owner(string id) => $"{Queue}:owner:{id}";
    private string Owners => $"{Queue}:owners";
    public string DeadLetters => $"{Queue}:dead";

    private IDatabase Db => redis.GetDatabase();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        logger.LogInformation("reading {Queue} as {Id}", Queue, _id);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Requeue(_id, stoppingToken); // this adapter's own unfinished messages, from before a crash or restart
                break;
            }
            catch (RedisException e)
            {
                logger.LogWarning("Redis is not answering ({Reason}); trying again", e.Message);
                await Task.Delay(TimeSpan.FromSeconds(2), clock, stoppingToken);
            }
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!await PollOnce(stoppingToken)) await Task.Delay(_options.PollInterval, clock, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // Never stop the host over one message or a Redis outage: what was taken stays in the processing list.
                logger.LogWarning(e, "reading {Queue} failed; trying again", Queue);
                await Task.Delay(TimeSpan.FromSeconds(2), clock, stoppingToken);
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
            await Handle(message!, cancellationToken);
        }
        catch (Exception e) when (e is not RedisException)
        {
            // The bus or the object store failed, not the message: hand it back to be read again, intact.
            logger.LogWarning("could not accept a {Queue} message ({Message}); it goes back on the queue", Queue, e.Message);
            var transaction = Db.CreateTransaction();
            _ = transaction.ListRemoveAsync(Processing(_id), message, 1);
            _ = transaction.ListRightPushAsync(Queue, message);
            await transaction.ExecuteAsync().WaitAsync(CancellationToken.None);
            throw;
        }
        return true;
    }

    private async Task Handle(string message, CancellationToken cancellationToken)
    {
        LegacyRequest request;
        try
        {
            request = LegacyRequest.Parse(message);
        }
        catch (FormatException e)
        {
            await SetAside(message, e.Message, cancellationToken);
            return;
        }
        if (Models.Resolve(request.Model) is not { } model)
        {
            await SetAside(message, $"unknown model '{request.Model}'", cancellationToken);
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
            await log.WriteAsync("worker", "info", $"song {request.SongHash}: output_bucket {output} ignored, stems go to {SongObjects.StemBucket}");

        // Only once the bus has the song may the message leave the processing list.
        await intake.AnnounceAsync(request.SongHash, request.Upload, model, request.Callback, "toWorker", cancellationToken);
        await Db.ListRemoveAsync(Processing(_id), message, 1).WaitAsync(cancellationToken);
        await log.WriteAsync("worker", "info", $"song {request.SongHash} accepted from {Queue}");
    }

    private async Task SetAside(string message, string reason, CancellationToken cancellationToken)
    {
        logger.LogWarning("setting aside a {Queue} message: {Reason}", Queue, reason);
        var record = JsonSerializer.Serialize(new { message, reason, at = clock.GetUtcNow() });
        var transaction = Db.CreateTransaction();
        _ = transaction.ListLeftPushAsync(DeadLetters, record);
        _ = transaction.ListRemoveAsync(Processing(_id), message, 1);
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
