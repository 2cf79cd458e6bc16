using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.Configuration;
using MSaaS.Api.Routes;
using MSaaS.ServiceDefaults;

namespace MSaaS.Api.Clients;

/// <summary>The clients on the support routes (behind the support key): the same as <c>msaas clients</c>.</summary>
public static class ClientRoutes
{
    public sealed record NewClient(string Name, int? MinutesPerMonth = null, int? SongsInFlight = null);

    /// <summary>A client as it is shown: never a key or its hash, only the hint of each.</summary>
    public sealed record ClientView(string Name, DateTimeOffset CreatedAt, int? MinutesPerMonth, int? SongsInFlight, IReadOnlyList<KeyView> Keys)
    {
        public static ClientView Of(ServiceClient client) => new(client.Name, client.CreatedAt, client.MinutesPerMonth, client.SongsInFlight,
            [.. client.Keys.Select(k => new KeyView(k.Hint, k.CreatedAt, k.ExpiresAt))]);
    }

    public sealed record KeyView(string Hint, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt);

    /// <summary>
    /// A client with the key just made: the only time the key is shown. <see cref="Secret"/>: its webhook signing secret,
    /// when this process has the service's (Webhooks:SigningSecret).
    /// </summary>
    public sealed record ClientWithKey(string Name, string Key, string? Secret, ClientView Client);

    /// <summary>GET /apiv1/usage: the caller's own usage (a client route: behind <see cref="ClientGate"/>).</summary>
    public static IEndpointRouteBuilder MapUsageRoute(this IEndpointRouteBuilder clients)
    {
        clients.MapGet("/apiv1/usage", async (HttpContext http, UsageLedger usage, CancellationToken cancellationToken) =>
                ClientGate.Client(http) is { } client
                    ? Results.Ok(await usage.ReportAsync(client, cancellationToken))
                    : Reply.NotFound("this service does not tell clients apart (Api:Clients is anonymous): there is no usage to show"))
            .WithSummary("The calling client's usage this month: audio seconds and songs, by day, and its limits")
            .Produces<UsageReport>().Produces<ErrorReply>(401).Produces<ErrorReply>(404);
        return clients;
    }

    public static RouteGroupBuilder MapClientRoutes(this RouteGroupBuilder support)
    {
        support.MapGet("/clients", async (ClientRegistry clients, CancellationToken cancellationToken) =>
                Results.Ok((await clients.ListAsync(cancellationToken)).Select(ClientView.Of)))
            .WithSummary("Every client, with its limits and the hints of its keys").Produces<IReadOnlyList<ClientView>>();
        support.MapPost("/clients", (HttpContext http, ClientRegistry clients, IConfiguration configuration, CancellationToken cancellationToken) => Answer(http, async () =>
            {
                var client = await ReadAsync(http.Request, cancellationToken);
                var (added, key) = await clients.AddAsync(client.Name ?? "", client.MinutesPerMonth, client.SongsInFlight, cancellationToken);
                return Results.Created($"/apiv1/support/clients/{added.Name}",
                    new ClientWithKey(added.Name, key, WebhookSecrets.ForClient(configuration, added.Id), ClientView.Of(added)));
            }))
            .WithSummary("Add a client: its key is in this answer and nowhere else")
            .Produces<ClientWithKey>(201).Produces<ErrorReply>(400).Produces<ErrorReply>(409);
        support.MapPost("/clients/{name}/key", (string name, HttpContext http, ClientRegistry clients, IConfiguration configuration, CancellationToken cancellationToken) => Answer(http, async () =>
            {
                var (client, key) = await clients.NewKeyAsync(name, cancellationToken);
                return Results.Ok(new ClientWithKey(client.Name, key, WebhookSecrets.ForClient(configuration, client.Id), ClientView.Of(client)));
            }))
            .WithSummary("A new key for the client; its older keys work until their grace period ends (Api:KeyGracePeriod)")
            .Produces<ClientWithKey>().Produces<ErrorReply>(404);
        support.MapGet("/clients/{name}/usage", async (string name, ClientRegistry clients, UsageLedger usage, CancellationToken cancellationToken) =>
                (await clients.FindAsync(name, cancellationToken)) is { } client
                    ? Results.Ok(await usage.ReportAsync(client, cancellationToken))
                    : Reply.NotFound($"no client {ClientText.Cut(name, 64)}"))
            .WithSummary("A client's usage this month, by day").Produces<UsageReport>().Produces<ErrorReply>(404);
        support.MapDelete("/clients/{name}", (string name, HttpContext http, ClientRegistry clients, CancellationToken cancellationToken) => Answer(http, async () =>
            {
                await clients.RemoveAsync(name, cancellationToken);
                return Results.NoContent();
            }))
            .WithSummary("Remove a client: its keys stop working at once").Produces(204).Produces<ErrorReply>(404);
        return support;
    }

    // The body read here rather than bound by the framework, whose refusal of bad JSON has no reason in it.
    private static async Task<NewClient> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return await request.ReadFromJsonAsync<NewClient>(cancellationToken)
                   ?? throw new ClientRefusedException(400, "the body is null: send {\"name\": ..., \"minutesPerMonth\"?: n, \"songsInFlight\"?: n}");
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            throw new ClientRefusedException(400, "the body must be JSON: {\"name\": ..., \"minutesPerMonth\"?: n, \"songsInFlight\"?: n}");
        }
    }

    // A change's answer; one that carries a key is never kept by a cache on the way.
    private static async Task<IResult> Answer(HttpContext http, Func<Task<IResult>> change)
    {
        try
        {
            http.Response.Headers.CacheControl = "no-store";
            return await change();
        }
        catch (ClientRefusedException refused)
        {
            return Reply.Error(refused.Status, refused.Message);
        }
    }
}
