using System.ComponentModel;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using MSaaS.Api.Mixing;
using MSaaS.Storage;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Routes;

/// <summary>GET /apiv1/mix/{songhash}?drums=1&amp;bass=1&amp;other=1&amp;vocals=0: the stems mixed at the gains asked for, as one MP3.</summary>
public static class MixRoutes
{
    private const string GainHelp = "gain from 0 to 2 (rounded to two decimals); 1, the default, as separated; 0 leaves the stem out";

    public static IEndpointRouteBuilder MapMixRoutes(this IEndpointRouteBuilder app)
    {
        app.MapGet("/apiv1/mix/{songhash}", Mix)
            .WithSummary("Download a mix of the stems (MP3, made once per setting and kept): e.g. ?vocals=0 for the instrumental")
            .Produces<Stream>(200, SongObjects.Mp3ContentType).Produces<ErrorReply>(400).Produces<ErrorReply>(404).Produces<ErrorReply>(429).Produces<ErrorReply>(500);
        return app;
    }

    // The four gains are declared (as text, so that a bad one is refused here with a reason) for the API's
    // description; the query is read as a whole to refuse unknown names as well.
    private static async Task<IResult> Mix(string songhash, HttpRequest request, HttpResponse response, MixCache mixes,
        [Description(GainHelp)] string? drums, [Description(GainHelp)] string? bass, [Description(GainHelp)] string? other,
        [Description(GainHelp)] string? vocals, CancellationToken cancellationToken)
    {
        _ = (drums, bass, other, vocals);
        if (MixSettings.Parse(request.Query, out var error) is not { } settings) return Reply.Error(400, error!);
        if (!SongHash.IsValid(songhash)) return Reply.NotFound($"{ClientText.Quote(songhash)} is not a song hash (56 lower-case hex digits)");
        if (!await mixes.HasStemsAsync(songhash, cancellationToken))
            return Reply.NotFound($"no mix for {ClientText.Cut(songhash, 64)}: the song is unknown, not separated yet, or a stem was removed");
        Stream mix;
        try
        {
            mix = await mixes.OpenAsync(songhash, settings, cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return Reply.NotFound($"no mix for {ClientText.Cut(songhash, 64)}: a stem was removed meanwhile");
        }
        catch (MixBusyException busy)
        {
            response.Headers.RetryAfter = "5";
            return Reply.Error(429, busy.Message);
        }
        catch (MixException failed)
        {
            return Reply.Error(500, failed.Message);
        }
        response.Headers.ContentDisposition = $"attachment; filename={settings.FileName}";
        return Results.Stream(mix, SongObjects.Mp3ContentType);
    }
}
