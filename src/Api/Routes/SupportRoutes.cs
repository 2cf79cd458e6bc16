using System.Globalization;
using System.Security.Cryptography;
using System.Xml;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Api.Persistence;
using MSaaS.Api.StateMachines;
using MSaaS.Contracts;

namespace MSaaS.Api.Routes;

/// <summary>Support staff's view of the sagas, behind the X-Api-Key from configuration (Api:SupportApiKey).</summary>
public static class SupportRoutes
{
    public const string KeyHeader = "X-Api-Key";

    public static IEndpointRouteBuilder MapSupportRoutes(this IEndpointRouteBuilder app)
    {
        var support = app.MapGroup("/apiv1/support").AddEndpointFilter(RequireKey);
        support.MapGet("/songs/{songhash}", Song).WithSummary("One song's full saga state and transition history")
            .Produces<SongState>().Produces<ErrorReply>(404).Produces<ErrorReply>(401).Produces<ErrorReply>(403);
        support.MapGet("/songs", List)
            .WithSummary("Songs by state and age: ?state=Failed&olderThan=2h&newerThan=7d&limit=100 (ages: 90s, 15m, 2h, 7d or ISO 8601)")
            .Produces<IReadOnlyList<SongSummary>>().Produces<ErrorReply>(400).Produces<ErrorReply>(401).Produces<ErrorReply>(403);
        support.MapPost("/songs/{songhash}/retry", Retry).WithSummary("Try a failed song again from the stage it failed in")
            .Produces<SongSummary>(202).Produces<ErrorReply>(404).Produces<ErrorReply>(409).Produces<ErrorReply>(401).Produces<ErrorReply>(403);
        return app;
    }

    private static async ValueTask<object?> RequireKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var expected = context.HttpContext.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.SupportApiKey;
        if (string.IsNullOrEmpty(expected)) return Reply.Error(403, "the support API is disabled: no Api:SupportApiKey is configured");
        var given = context.HttpContext.Request.Headers[KeyHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected)))
            return Reply.Error(401, $"a valid {KeyHeader} header is required");
        return await next(context);
    }

    private static async Task<IResult> Song(string songhash, ISongStateStore songs, CancellationToken cancellationToken) =>
        await StatusRoutes.Find(songhash, songs, cancellationToken) is { } song ? Results.Ok(song) : Reply.NotFound($"no song {songhash}");

    private static async Task<IResult> List(string? state, string? olderThan, string? newerThan, int? limit, ISongStateStore songs,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!TryAge(olderThan, out var older) || !TryAge(newerThan, out var newer))
            return Reply.Error(400, "ages are like 90s, 15m, 2h, 7d or ISO 8601 (PT2H)");
        if (limit is < 1 or > 1000) return Reply.Error(400, "limit must be between 1 and 1000");
        var query = new SongQuery
        {
            States = string.IsNullOrEmpty(state) ? [] : state.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
            UpdatedBefore = older is { } o ? now - o : null,
            UpdatedAfter = newer is { } n ? now - n : null,
            Limit = limit ?? 100,
        };
        var found = await songs.QueryAsync(query, cancellationToken);
        return Results.Ok(found.Select(SongSummary.From).ToList());
    }

    private static async Task<IResult> Retry(string songhash, ISongStateStore songs, IPublishEndpoint bus, HttpContext http, CancellationToken cancellationToken)
    {
        if (await StatusRoutes.Find(songhash, songs, cancellationToken) is not { } song) return Reply.NotFound($"no song {songhash}");
        if (song.CurrentState != "Failed") return Reply.Error(409, $"the song is {song.CurrentState}, not Failed: nothing to retry");
        await bus.Publish(new RetrySong { SongId = song.CorrelationId, RequestedBy = "support via " + http.Connection.RemoteIpAddress }, cancellationToken);
        return Results.Accepted($"/apiv1/status/{songhash}", SongSummary.From(song));
    }

    private static bool TryAge(string? text, out TimeSpan? age)
    {
        age = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        text = text.Trim();
        if (text.StartsWith('P'))
        {
            try
            {
                age = XmlConvert.ToTimeSpan(text);
                return true;
            }
            catch (FormatException)
            {
                return false;
            }
        }
        var unit = text[^1];
        if (!double.TryParse(char.IsDigit(unit) ? text : text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < 0)
            return false;
        age = unit switch
        {
            's' or >= '0' and <= '9' => TimeSpan.FromSeconds(value),
            'm' => TimeSpan.FromMinutes(value),
            'h' => TimeSpan.FromHours(value),
            'd' => TimeSpan.FromDays(value),
            _ => null,
        };
        return age is not null;
    }
}
