using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Options;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Storage;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Routes;

/// <summary>Where a song is: one look (status) or a live stream of changes (server-sent events).</summary>
public static class StatusRoutes
{
    public const string TrackBase = "/apiv1/track";

    public static IEndpointRouteBuilder MapStatusRoutes(this IEndpointRouteBuilder app)
    {
        app.MapGet("/apiv1/status/{songhash}", Status).WithSummary("State, stage, progress 0-100, timestamps, error and, once ready, the stem URLs")
            .Produces<SongStatus>().Produces<ErrorReply>(404);
        app.MapGet("/apiv1/status/{songhash}/events", Events)
            .WithSummary("Server-sent events: a \"status\" event each time the song changes, until it is completed or failed")
            .Produces(200, contentType: "text/event-stream").Produces<ErrorReply>(404);
        return app;
    }

    private static async Task<IResult> Status(string songhash, ISongStateStore songs, IObjectStore store, TimeProvider clock,
        CancellationToken cancellationToken)
    {
        if (await Find(songhash, songs, cancellationToken) is { } song) return Results.Ok(SongStatus.From(song, TrackBase));
        // Accepted a moment ago, before its saga exists: the upload is stored and SongUploaded is on its way.
        if (SongHash.IsValid(songhash) && await store.StatAsync(SongObjects.Upload(songhash), cancellationToken) is { } upload)
            return Results.Ok(SongStatus.Submitted(songhash, upload.LastModified, clock.GetUtcNow()));
        return Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}");
    }

    private static async Task Events(string songhash, HttpContext http, ISongStateStore songs, SongChanges changes, IOptions<ApiOptions> options,
        IOptions<JsonOptions> json, TimeProvider clock, CancellationToken cancellationToken)
    {
        if (await Find(songhash, songs, cancellationToken) is null)
        {
            await Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}").ExecuteAsync(http);
            return;
        }
        http.Response.Headers.ContentType = "text/event-stream";
        http.Response.Headers.CacheControl = "no-cache";
        var lastVersion = -1;
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                var changed = changes.Next(SongHash.Id(songhash));
                var song = await Find(songhash, songs, cancellationToken);
                if (song is not null && song.Version != lastVersion)
                {
                    lastVersion = song.Version;
                    var data = JsonSerializer.Serialize(SongStatus.From(song, TrackBase), json.Value.SerializerOptions);
                    await http.Response.WriteAsync($"event: status\nid: {song.Version}\ndata: {data}\n\n", cancellationToken);
                    await http.Response.Body.FlushAsync(cancellationToken);
                    if (song.CurrentState is SongStates.Completed or SongStates.Failed) return;
                }
                // At once when this process stores a change of the song; otherwise (another replica) at the next look.
                await SongChanges.WaitAsync(changed, options.Value.ProgressInterval, clock, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // the client went away
        }
    }

    internal static async Task<SongState?> Find(string songhash, ISongStateStore songs, CancellationToken cancellationToken) =>
        SongHash.IsValid(songhash) ? await songs.LoadAsync(SongHash.Id(songhash), cancellationToken) : null;
}
