using System.Globalization;
using System.Security.Cryptography;
using System.Xml;
using MassTransit;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using MSaaS.Contracts;
using MSaaS.Api.Clients;
using MSaaS.Api.Security;
using MSaaS.ServiceDefaults;

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
        support.MapClientRoutes();
        return app;
    }

    private static async ValueTask<object?> RequireKey(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var expected = http.RequestServices.GetRequiredService<IOptions<ApiOptions>>().Value.SupportApiKey;
        if (string.IsNullOrEmpty(expected)) return Reply.Error(403, "the support API is disabled: no Api:SupportApiKey is configured");
        var attempts = http.RequestServices.GetRequiredService<KeyAttempts>();
        var client = http.Connection.RemoteIpAddress;
        if (attempts.Wait(client) is { TotalSeconds: > 0 } wait)
        {
            http.Response.Headers.RetryAfter = Math.Ceiling(wait.TotalSeconds).ToString(CultureInfo.InvariantCulture);
            return Reply.Error(429, $"too many wrong {KeyHeader} values from this address; try again in {Math.Ceiling(wait.TotalSeconds)} s");
        }
        var given = http.Request.Headers[KeyHeader].ToString();
        if (!CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected)))
        {
            attempts.Failed(client);
            return Reply.Error(401, $"a valid {KeyHeader} header is required");
        }
        return await next(context);
    }

    private static async Task<IResult> Song(string songhash, ISongStateStore songs, CancellationToken cancellationToken) =>
        await StatusRoutes.Find(songhash, songs, cancellationToken) is { } song ? Results.Ok(song) : Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}");

    private static async Task<IResult> List(string? state, string? olderThan, string? newerThan, int? limit, ISongStateStore songs,
        TimeProvider clock, CancellationToken cancellationToken)
    {
        var now = clock.GetUtcNow();
        if (!TryAge(olderThan, out var older) || !TryAge(newerThan, out var newer))
            return Reply.Error(400, "ages are like 90s, 15m, 2h, 7d or ISO 8601 (PT2H), up to 3650 days");
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
        if (await StatusRoutes.Find(songhash, songs, cancellationToken) is not { } song) return Reply.NotFound($"no song {ClientText.Cut(songhash, 64)}");
        if (song.CurrentState != SongStates.Failed) return Reply.Error(409, $"the song is {song.CurrentState}, not Failed: nothing to retry");
        await bus.Publish(new RetrySong { SongId = song.CorrelationId, RequestedBy = "support via " + http.Connection.RemoteIpAddress }, cancellationToken);
        return Results.Accepted($"/apiv1/status/{songhash}", SongSummary.From(song));
    }

    private static readonly TimeSpan LongestAge = TimeSpan.FromDays(3650);

    // "90s", "15m", "2h", "7d", a bare number of seconds, or ISO 8601 ("PT2H"), from 0 to ten years.
    internal static bool TryAge(string? text, out TimeSpan? age)
    {
        age = null;
        if (string.IsNullOrWhiteSpace(text)) return true;
        text = text.Trim();
        try
        {
            if (text.StartsWith('P')) age = XmlConvert.ToTimeSpan(text);
            else
            {
                var unit = text[^1];
                var number = char.IsAsciiDigit(unit) ? text : text[..^1];
                var seconds = unit switch { 's' or >= '0' and <= '9' => 1d, 'm' => 60d, 'h' => 3600d, 'd' => 86400d, _ => double.NaN };
                // Plain decimal numbers only: no exponents, no NaN or infinity, no signs.
                if (double.IsNaN(seconds) || number.Length == 0 || !number.All(c => char.IsAsciiDigit(c) || c == '.')
                    || !double.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var value)
                    || value * seconds > LongestAge.TotalSeconds)
                    return false;
                age = TimeSpan.FromSeconds(value * seconds);
            }
        }
        catch (Exception e) when (e is FormatException or OverflowException or ArgumentException)
        {
            return false;
        }
        return age >= TimeSpan.Zero && age <= LongestAge;
    }
}
