using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using MSaaS.Saga;
using MSaaS.Saga.Persistence;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Api.Routes;

/// <summary>
/// GET /apiv1/live/{songhash}/{track}: a stem as it is separated. The answer starts with the stem's first live part
/// (<see cref="SongObjects.LivePart"/>) and goes on with each part as the separation worker stores it; once the song's
/// stems are stored it reads on in the complete stem from the same byte (the parts are its bytes, but for the LAME tag's
/// frame at its start, which the parts carry empty), and ends with it. A finished song's answer is its stem.
/// </summary>
/// <remarks>
/// A stream follows one run of the separation (one worker's): when the song's worker stopped and another run starts
/// over (a redelivery, a resume, a retry), the stream is broken off (the connection is reset, never ended cleanly), so
/// that no listener hears audio repeated or skipped; asked again, the route follows the new run from its start. Every listener reads the stored parts, so
/// many listeners cost the worker nothing.
/// </remarks>
public static class LiveRoutes
{
    public const string LiveBase = "/apiv1/live";

    public static IEndpointRouteBuilder MapLiveRoutes(this IEndpointRouteBuilder app)
    {
        app.MapGet(LiveBase + "/{songhash}/{track}", Live)
            .WithSummary("One stem (MP3) from its start while the song is separated, each part as soon as it is encoded, until it is complete")
            .Produces(200, contentType: SongObjects.Mp3ContentType).Produces<ErrorReply>(404).Produces<ErrorReply>(409).Produces<ErrorReply>(503);
        return app;
    }

    private static async Task Live(string songhash, string track, HttpContext http, ISongStateStore songs, SongChanges changes, IObjectStore store,
        LiveListeners listeners, IOptions<ApiOptions> options, TimeProvider clock, CancellationToken cancellationToken)
    {
        using var listening = listeners.TryTake();
        if (!listening.IsAcquired)
        {
            await new RetryLater(Reply.Error(429, $"{options.Value.MaxLiveListeners} live streams are being served: ask again shortly")).ExecuteAsync(http);
            return;
        }
        if (Tracks.Parse(track) is not { } name)
        {
            await Reply.NotFound(Tracks.Unknown(track)).ExecuteAsync(http);
            return;
        }
        if (!SongHash.IsValid(songhash))
        {
            await Reply.NotFound($"{ClientText.Quote(songhash)} is not a song hash (56 lower-case hex digits)").ExecuteAsync(http);
            return;
        }
        try
        {
            var (start, refusal) = await FirstAudioAsync(songhash, name, songs, changes, store, options.Value, clock, cancellationToken);
            if (refusal is not null)
            {
                await refusal.ExecuteAsync(http);
                return;
            }
            http.Response.ContentType = SongObjects.Mp3ContentType;
            http.Response.Headers.CacheControl = "no-store";
            // A proxy that buffers would hold back what is meant to be heard now.
            http.Response.Headers["X-Accel-Buffering"] = "no";
            if (start!.Run is not { } run)
            {
                await CopyAsync(store, SongObjects.Stem(songhash, name), 0, http.Response, cancellationToken);
                return;
            }
            if (!await StreamPartsAsync(songhash, name, run, songs, changes, store, options.Value, clock, http.Response, cancellationToken))
                http.Abort(); // another run started over: the listener must see the stream broken, not finished
        }
        catch (Exception e) when (e is ObjectStoreException or EndOfStreamException)
        {
            // A stem removed after its song finished, or a store that stopped answering.
            if (!http.Response.HasStarted)
            {
                await (e is ObjectNotFoundException
                    ? Reply.NotFound($"no {name} stem for {ClientText.Cut(songhash, 64)}: it was removed")
                    : new RetryLater(Reply.Error(503, "the stem cannot be read from storage now: ask again shortly"))).ExecuteAsync(http);
                return;
            }
            http.Abort(); // what was sent is not the whole stem: broken off, never ended as if it were
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the listener went away
        }
    }

    // Where the answer starts: the complete stem (no run) or the parts of the song's current run; or a refusal
    // when the song is unknown or failed, or still has no audio after Api:LiveWait.
    private static async Task<(Start? Start, IResult? Refusal)> FirstAudioAsync(string songhash, string name, ISongStateStore songs,
        SongChanges changes, IObjectStore store, ApiOptions options, TimeProvider clock, CancellationToken cancellationToken)
    {
        var until = clock.GetUtcNow() + options.LiveWait;
        while (true)
        {
            var changed = changes.Next(SongHash.Id(songhash));
            var song = await StatusRoutes.Find(songhash, songs, cancellationToken);
            if (song?.Stems?.ContainsKey(name) == true) return (new Start(null), null);
            if (song is { CurrentState: SongStates.Failed })
                return (null, Reply.Error(409, $"the song failed: {song.LastError ?? "no reason recorded"}"));
            if (song is null && await store.StatAsync(SongObjects.Upload(songhash), cancellationToken) is null)
                return (null, Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}"));
            // The run is recorded once every stem's first part is stored.
            if (song is { CurrentState: SongStates.Separating, LiveRun: { } run }) return (new Start(run), null);
            if (clock.GetUtcNow() >= until)
                return (null, new RetryLater(Reply.Error(503,
                    $"no audio of the song yet (it is {song?.CurrentState ?? "submitted"}, {song?.Progress ?? 0}% done): ask again shortly")));
            var left = until - clock.GetUtcNow();
            await SongChanges.WaitAsync(changed, left < options.ProgressInterval ? left : options.ProgressInterval, clock, cancellationToken);
        }
    }

    // The parts of one run, in order, then the rest of the complete stem (when that run stored it). False when another
    // run took over or the song failed. Only the parts the saga recorded as stored are read: an S3 server may show an
    // object while its upload is still being written, and half a part would break the stream's frames for good.
    private static async Task<bool> StreamPartsAsync(string songhash, string name, Guid run, ISongStateStore songs, SongChanges changes,
        IObjectStore store, ApiOptions options, TimeProvider clock, HttpResponse response, CancellationToken cancellationToken)
    {
        long sent = 0;
        for (var part = 0; ;)
        {
            // Taken before looking: the saga records each part once it is stored, and wakes this at once.
            var changed = changes.Next(SongHash.Id(songhash));
            var song = await StatusRoutes.Find(songhash, songs, cancellationToken);
            if (song is null || song.LiveRun != run || song.CurrentState == SongStates.Failed) return false;
            // A worker that does not count its parts: each is read as soon as it is there.
            var stored = song.LiveParts ?? int.MaxValue;
            while (part < stored && await TryCopyAsync(store, SongObjects.LivePart(songhash, run, name, part), response, cancellationToken) is { } bytes)
            {
                sent += bytes;
                part++;
            }
            if (song.Stems?.ContainsKey(name) == true)
            {
                await CopyAsync(store, SongObjects.Stem(songhash, name), sent, response, cancellationToken);
                return true;
            }
            await SongChanges.WaitAsync(changed, options.ProgressInterval, clock, cancellationToken);
        }
    }

    // One part to the listener; null when it is not stored (yet, or any more: the complete stem replaced it). A part is
    // read whole before any of it is sent: the worker removes the parts once the stems are stored, and a part removed
    // under the read (S3 ends the body early) must not leave half of it in the stream, which goes on in the complete
    // stem from the last whole part's end.
    private static async Task<long?> TryCopyAsync(IObjectStore store, ObjectKey key, HttpResponse response, CancellationToken cancellationToken)
    {
        byte[] bytes;
        try
        {
            await using var part = await store.OpenReadAsync(key, cancellationToken);
            bytes = new byte[part.Length];
            await part.ReadExactlyAsync(bytes, cancellationToken);
            if (await part.ReadAsync(new byte[1], cancellationToken) != 0) throw new IOException($"{key} is longer than it said");
        }
        catch (Exception e) when (e is ObjectNotFoundException or IOException)
        {
            return null;
        }
        await response.Body.WriteAsync(bytes, cancellationToken);
        await response.Body.FlushAsync(cancellationToken); // heard now, not when a buffer fills
        return bytes.Length;
    }

    // The stored object from byte <paramref name="offset"/> on.
    private static async Task CopyAsync(IObjectStore store, ObjectKey key, long offset, HttpResponse response, CancellationToken cancellationToken)
    {
        await using var stem = await store.OpenReadAsync(key, cancellationToken);
        if (stem.CanSeek) stem.Seek(offset, SeekOrigin.Begin);
        else await SkipAsync(stem, offset, cancellationToken);
        await stem.CopyToAsync(response.Body, cancellationToken);
    }

    private static async Task SkipAsync(Stream stream, long count, CancellationToken cancellationToken)
    {
        var buffer = new byte[81920];
        while (count > 0)
        {
            var read = await stream.ReadAsync(buffer.AsMemory(0, (int)Math.Min(buffer.Length, count)), cancellationToken);
            if (read == 0) throw new EndOfStreamException("the complete stem is shorter than its live parts");
            count -= read;
        }
    }

    private sealed record Start(Guid? Run);

    private sealed class RetryLater(IResult inner) : IResult
    {
        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.Headers.RetryAfter = "5";
            return inner.ExecuteAsync(httpContext);
        }
    }
}
