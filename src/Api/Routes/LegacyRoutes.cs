using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MassTransit;
using Microsoft.Extensions.Options;
using MSaaS.Contracts;
using MSaaS.Api.Mixing;
using MSaaS.Saga.Persistence;
using MSaaS.Api.Uploads;
using MSaaS.Audio;
using MSaaS.Storage;
using MSaaS.ServiceDefaults;
using MSaaS.Saga;
using MSaaS.Api.Clients;

namespace MSaaS.Api.Routes;

/// <summary>The routes every existing MSaaS client uses (the legacy contract in docs/api.md), answered as the reference does.</summary>
public static class LegacyRoutes
{
    public const string EnqueuedReason = "Song enqueued for separation";

    /// <summary>The reference client registers the REST root itself as its webhook: it takes anything, from anyone.</summary>
    public static IEndpointRouteBuilder MapLegacyWebhookTarget(this IEndpointRouteBuilder app)
    {
        app.MapPost("/", () => Results.Ok()).WithSummary("Accepts anything: the reference client's own webhook target");
        return app;
    }

    public static IEndpointRouteBuilder MapLegacyRoutes(this IEndpointRouteBuilder app)
    {
        app.MapPost("/apiv1/separate", Separate).WithSummary("Upload a song (JSON with base64, or multipart) for separation")
            .Produces<SeparateReply>().Produces<ErrorReply>(400).Produces<ErrorReply>(413);
        // Routing matches "/apiv1/queue/" here as well, with no redirect, as the reference client needs.
        app.MapGet("/apiv1/queue", Queue).WithSummary("Songs in processing order").Produces<QueueReply>();
        app.MapGet("/apiv1/track/{songhash}/{track}", Track).WithSummary("Download one stem (MP3)")
            .Produces(200, contentType: SongObjects.Mp3ContentType).Produces<ErrorReply>(404);
        app.MapMethods("/apiv1/remove/{songhash}/{track}", ["GET", "DELETE"], Remove).WithSummary("Delete one stem")
            .Produces<RemoveReply>().Produces<ErrorReply>(404);
        app.MapMethods("/apiv1/remove/{songhash}", ["GET", "DELETE"], RemoveAll).WithSummary("Delete every stem of a song")
            .Produces<RemoveReply>().Produces<ErrorReply>(404).Produces<ErrorReply>(409);
        return app;
    }

    public sealed record SeparateReply(string Hash, string Reason, string Model, string? RequestedModel, string Status);

    public sealed record QueueReply(IReadOnlyList<string> Queue);

    public sealed record RemoveReply(string Hash, IReadOnlyList<string> Removed);

    private static async Task<IResult> Separate(HttpContext http, SongIntake intake, UploadSlots slots, ISongStateStore songs,
        IClientSongs holders, UsageLedger usage, SongLength length, IOptions<ApiOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var (request, response) = (http.Request, http.Response);
        // Each upload being read holds buffers and a scratch file: a bounded number at once, and from one client, the
        // others told when to come back.
        var (slot, busy) = slots.TryTake(http.Connection.RemoteIpAddress);
        if (slot is null)
        {
            response.Headers.RetryAfter = "2";
            return Reply.Error(429, busy!);
        }
        using (slot)
        {
            SeparateRequest upload;
            try
            {
                var o = options.Value;
                var body = new PacedBody(request.Body, o.MinUploadBytesPerSecond, o.UploadGrace, clock);
                upload = await SeparateRequestReader.ReadAsync(request, body, o.MaxSongBytes, cancellationToken);
            }
            catch (RequestRefusedException refused)
            {
                // A body not read to its end is not waited for: the connection closes after the answer.
                if (refused.Status == StatusCodes.Status408RequestTimeout) response.Headers.Connection = "close";
                return Reply.Error(refused.Status, refused.Message);
            }
            await using var song = upload.Song;
            var client = ClientGate.Client(http);
            // A client's webhook is its own, signed with its own secret (WebhookSecrets).
            var callback = client is not null && upload.Callback is { } own ? own with { Client = client.Id } : upload.Callback;
            var known = await songs.LoadAsync(SongHash.Id(song.Hash), cancellationToken);
            if (await Refusal(upload, callback, known, options.Value, cancellationToken) is { } refusal) return refusal;
            var model = Models.Resolve(upload.Model)!;
            if (client is null) return Accepted(await intake.AcceptAsync(song, model, callback, "rest", cancellationToken), model, upload.Model);

            // A client's song is charged, within its limits, before it is accepted; what was charged is taken back if it
            // is not accepted after all. Charged by its headers' length, and at least its size at 320 kbps (a header
            // cannot make a long song free).
            double seconds;
            try
            {
                seconds = Math.Max(await length.ReadAsync(await song.FileAsync(cancellationToken), song.Head.ToArray(), cancellationToken),
                    song.Length * 8 / 320_000.0);
            }
            catch (AudioFormatException e)
            {
                return Reply.Error(400, e.Message);
            }
            ChargeOutcome charge;
            try
            {
                charge = await usage.ChargeAsync(client, song.Hash, seconds, inFlight: known is not { CurrentState: SongStates.Completed }, cancellationToken);
            }
            catch (ClientRefusedException contended)
            {
                response.Headers.RetryAfter = "1";
                return Reply.Error(contended.Status, contended.Message);
            }
            if (!charge.Accepted) return Reply.Error(charge.Status, charge.Reason!);
            var heldBefore = await holders.HoldsAsync(client.Id, song.Hash, cancellationToken);
            try
            {
                // Held before it is announced: the client's status request right after the answer finds it. Once charged,
                // the song is accepted whole even if the client goes away meanwhile.
                await holders.AddAsync(client.Id, song.Hash, CancellationToken.None);
                return Accepted(await intake.AcceptAsync(song, model, callback, "rest", CancellationToken.None), model, upload.Model);
            }
            catch
            {
                await usage.UndoAsync(client.Id, song.Hash, charge, CancellationToken.None);
                if (!heldBefore) await holders.ReleaseAsync(client.Id, song.Hash, CancellationToken.None);
                throw;
            }
        }
    }

    // 200, not 202: the reference clients print only 200 answers.
    private static IResult Accepted(string hash, string model, string? requested) =>
        Results.Ok(new SeparateReply(hash, EnqueuedReason, model, requested, $"/apiv1/status/{hash}"));

    // Why an upload that was read whole is still refused, or null.
    private static async Task<IResult?> Refusal(SeparateRequest upload, Callback? callback, SongState? known, ApiOptions options,
        CancellationToken cancellationToken)
    {
        if (upload.Model is { Length: > SeparateRequestReader.MaxModelLength })
            return Reply.Error(400, $"the model name is longer than {SeparateRequestReader.MaxModelLength} characters");
        if (Models.Resolve(upload.Model) is null)
            return Reply.Error(400, $"unknown model '{upload.Model}': the demucs models are {string.Join(", ", Models.Names.Order())} (all run as {Models.Default})");
        if (callback is not null && await TargetGuard.CheckAsync(callback.Url, options.AllowPrivateCallbacks, cancellationToken) is { } target)
            return Reply.Error(400, target);
        if (known is null) return null;
        // The same bytes again: what the song's saga already knows answers them.
        if (known is { CurrentState: SongStates.Failed, InputRejected: true })
            return Reply.Error(422, $"this song was refused before, and the same bytes will be again: {known.LastError}");
        if (callback is not null && !known.Callbacks.Contains(callback) && known.Callbacks.Count >= options.MaxCallbacksPerSong)
            return Reply.Error(409, $"this song has {known.Callbacks.Count} webhooks already, the most one song may have; follow its status instead");
        return null;
    }

    private static async Task<IResult> Queue(HttpContext http, ISongStateStore songs, IClientSongs holders, CancellationToken cancellationToken)
    {
        var inFlight = await songs.QueryAsync(new SongQuery { States = [.. SongStates.InFlight], Limit = 10_000 }, cancellationToken);
        var queue = inFlight.OrderBy(s => s.CreatedAt).Select(s => s.SongHash).ToList();
        // A client's own songs only; their place is among everyone's.
        if (ClientGate.Client(http)?.Id is { } client)
            queue = [.. (await Task.WhenAll(queue.Select(async hash => (hash, held: await holders.HoldsAsync(client, hash, cancellationToken)))))
                .Where(s => s.held).Select(s => s.hash)];
        return Results.Ok(new QueueReply(queue));
    }

    private static async Task<IResult> Track(string songhash, string track, HttpResponse response, IObjectStore store, CancellationToken cancellationToken)
    {
        if (Tracks.Parse(track) is not { } name) return Reply.NotFound(Tracks.Unknown(track));
        if (!SongHash.IsValid(songhash)) return Reply.NotFound($"{ClientText.Quote(songhash)} is not a song hash (56 lower-case hex digits)");
        Stream stem;
        try
        {
            stem = await store.OpenReadAsync(SongObjects.Stem(songhash, name), cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return Reply.NotFound($"no {name} stem for {ClientText.Cut(songhash, 64)}: the song is unknown or not separated yet");
        }
        response.Headers.ContentDisposition = $"attachment; filename={name}.mp3";
        return Results.Stream(stem, SongObjects.Mp3ContentType);
    }

    // A mix needs every stem: removing one removes the song's kept mixes too.
    private static async Task<IResult> Remove(string songhash, string track, HttpContext http, IObjectStore store, MixCache mixes, IClientSongs holders,
        CancellationToken cancellationToken)
    {
        if (Tracks.Parse(track) is not { } name) return Reply.NotFound(Tracks.Unknown(track));
        if (!SongHash.IsValid(songhash)) return Reply.NotFound($"{ClientText.Quote(songhash)} is not a song hash");
        if (ClientGate.Client(http)?.Id is { } client && (await holders.HoldersAsync(songhash, cancellationToken)).Any(other => other != client))
            return Reply.Error(409, "other clients sent this song too, and its stems are theirs as well: remove the whole song instead");
        if (!await store.DeleteAsync(SongObjects.Stem(songhash, name), cancellationToken)) return Reply.NotFound($"no {name} stem for {ClientText.Cut(songhash, 64)}");
        await mixes.DeleteAsync(songhash, cancellationToken);
        return Results.Ok(new RemoveReply(songhash, [name]));
    }

    // A whole song: its stems and kept mixes, and with them the song itself (its upload and its saga), so that nothing of it is
    // left to be found. A song still being separated keeps going; only a finished or failed one is forgotten.
    private static async Task<IResult> RemoveAll(string songhash, HttpContext http, IObjectStore store, MixCache mixes, ISongStateStore songs,
        IPublishEndpoint bus, IClientSongs holders, UsageLedger usage, CancellationToken cancellationToken)
    {
        if (!SongHash.IsValid(songhash)) return Reply.NotFound($"{ClientText.Quote(songhash)} is not a song hash");
        var song = await songs.LoadAsync(SongHash.Id(songhash), cancellationToken);
        if (song is { CurrentState: not (SongStates.Completed or SongStates.Failed) })
            return Reply.Error(409, $"the song is {song.CurrentState}: it can be removed once it is finished");
        // Others hold it too: it goes for this client only, the stems stay for them. The last holder removes it.
        if (ClientGate.Client(http)?.Id is { } client)
        {
            var left = await holders.ReleaseAsync(client, songhash, cancellationToken);
            await usage.ReleasedAsync(client, songhash, cancellationToken);
            if (left > 0) return Results.Ok(new RemoveReply(songhash, song?.Stems?.Keys.Order(StringComparer.Ordinal).ToList() ?? []));
        }
        var removed = new List<string>();
        foreach (var track in Stems.Names)
            foreach (var format in new[] { "mp3", "wav" })
                if (await store.DeleteAsync(SongObjects.Stem(songhash, track, format), cancellationToken) && !removed.Contains(track))
                    removed.Add(track);
        var upload = await store.DeleteAsync(SongObjects.Upload(songhash), cancellationToken);
        // Live parts of attempts that never finished (a finished one removes its own).
        foreach (var part in await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(songhash), cancellationToken).ToListAsync(cancellationToken))
            await store.DeleteAsync(part.Key, cancellationToken);
        if (removed.Count == 0 && !upload && song is null) return Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}");
        // Gone now, not once the saga has heard of it: a status asked next finds nothing.
        await mixes.DeleteAsync(songhash, cancellationToken);
        // As it was loaded, finished or failed: a submission of the same song meanwhile has moved it on and keeps it.
        if (song is not null) await songs.DeleteAsync(song.CorrelationId, song.Version, cancellationToken);
        await bus.Publish(new SongRemoved { SongId = SongHash.Id(songhash), SongHash = songhash }, cancellationToken);
        return Results.Ok(new RemoveReply(songhash, removed));
    }
}
