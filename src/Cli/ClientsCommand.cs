using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using MSaaS.Api;
using MSaaS.Api.Clients;
using MSaaS.Cli.Hosting;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Cli;

/// <summary>
/// <c>msaas clients add|list|key|remove</c>: the clients of the service, in the store the services use, found by the
/// settings they read (appsettings.json, MSAAS_ variables, <c>--Section:Key=value</c>): Redis with
/// Redis:Configuration, else the data directory of <c>msaas serve</c>. It says where it made each change; a running
/// service sees it at its next request. A key is printed once, when it is made.
/// </summary>
internal static class ClientsCommand
{
    public static Command Create()
    {
        var json = new Option<bool>("--json") { Description = "Print JSON instead of text" };
        var name = new Argument<string>("name") { Description = "The client's name: lower-case letters, digits and '-'" };
        var minutes = new Option<int?>("--minutes-per-month") { Description = "Minutes of audio it may send per calendar month [default: no limit]" };
        var inFlight = new Option<int?>("--songs-in-flight") { Description = "Its songs in flight at once [default: no limit]" };

        var add = new Command("add", "Add a client and print its API key (shown only now)") { name, minutes, inFlight, json };
        add.SetAction((result, cancellationToken) => WithRegistry(result, async (clients, configuration) =>
        {
            var (client, key) = await clients.AddAsync(result.GetValue(name)!, result.GetValue(minutes), result.GetValue(inFlight), cancellationToken);
            var secret = WebhookSecrets.ForClient(configuration, client.Id);
            Print(result.GetValue(json), new { name = client.Name, key, secret },
                $"Added client {client.Name} in {clients.Location}. Its API key (shown only now; send it as Authorization: Bearer KEY):\n{key}\n" +
                (secret is null ? "No Webhooks:SigningSecret is set where this runs: see msaas clients secret." : $"Its webhook signing secret (Standard Webhooks):\n{secret}"));
        }));

        var list = new Command("list", "The clients, their limits and their keys' first characters") { json };
        list.SetAction((result, cancellationToken) => WithRegistry(result, async (clients, _) =>
        {
            var all = await clients.ListAsync(cancellationToken);
            Print(result.GetValue(json), all.Select(ClientRoutes.ClientView.Of), all.Count == 0 ? "No clients." : string.Join('\n', all.Select(Describe)));
        }));

        var key = new Command("key", "Give a client a new API key; its old keys keep working for Api:KeyGracePeriod (1 day)") { name, json };
        key.SetAction((result, cancellationToken) => WithRegistry(result, async (clients, _) =>
        {
            var (client, fresh) = await clients.NewKeyAsync(result.GetValue(name)!, cancellationToken);
            var until = client.Keys.Skip(1).Select(k => k.ExpiresAt).Max();
            Print(result.GetValue(json), new { name = client.Name, key = fresh },
                $"New API key of {client.Name} in {clients.Location} (shown only now)" + (until is { } end ? $"; its older keys work until {Time(end)}" : "") + $":\n{fresh}");
        }));

        var secret = new Command("secret", "Print a client's webhook signing secret (\"anonymous\": that of requests without a key under Api:Clients=both)") { name, json };
        secret.SetAction((result, cancellationToken) => WithRegistry(result, async (clients, configuration) =>
        {
            var who = result.GetValue(name)!;
            var id = who == ClientKeys.Anonymous ? who
                : (await clients.FindAsync(who, cancellationToken))?.Id ?? throw new ClientRefusedException(404, $"no client {who}");
            var derived = WebhookSecrets.ForClient(configuration, id)
                ?? throw new ClientRefusedException(400, "no Webhooks:SigningSecret (or a malformed one) where this runs: webhooks go unsigned without it");
            Print(result.GetValue(json), new { name = who, secret = derived }, derived);
        }));

        var remove = new Command("remove", "Remove a client: its keys stop working at once") { name };
        remove.SetAction((result, cancellationToken) => WithRegistry(result, async (clients, _) =>
        {
            await clients.RemoveAsync(result.GetValue(name)!, cancellationToken);
            Console.WriteLine($"Removed client {result.GetValue(name)} from {clients.Location}.");
        }));

        var clients = new Command("clients", "Manage the clients of the service and their API keys (Api:Clients=keys or both)") { add, list, key, secret, remove };
        foreach (var sub in clients.Subcommands) sub.TreatUnmatchedTokensAsErrors = false; // --Section:Key=value, as the services take
        return clients;
    }

    // The settings as the services read them (MsaasWebHost): appsettings.json, then MSAAS_ variables, then the command line.
    private static Task<int> WithRegistry(ParseResult result, Func<ClientRegistry, IConfiguration, Task> action) => CliErrors.Run(async () =>
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(Environment.CurrentDirectory, "appsettings.json"), optional: true)
            .AddEnvironmentVariables("MSAAS_")
            .AddCommandLine([.. result.UnmatchedTokens])
            .Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddValidatedOptions<StorageOptions>(StorageOptions.Section);
        services.AddValidatedOptions<ApiOptions>(ApiOptions.Section);
        services.AddRedis(configuration);
        services.AddClients();
        await using var provider = services.BuildServiceProvider();
        try
        {
            await action(provider.GetRequiredService<ClientRegistry>(), configuration);
            return 0;
        }
        catch (ClientRefusedException refused)
        {
            Console.Error.WriteLine($"msaas: error: {refused.Message}");
            return CliErrors.Failed;
        }
    });

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };

    private static void Print(bool json, object value, string text) => Console.WriteLine(json ? JsonSerializer.Serialize(value, Json) : text);

    private static string Describe(ServiceClient client)
    {
        var limits = string.Join(", ", new[]
        {
            client.MinutesPerMonth is { } m ? $"{m} min a month" : null,
            client.SongsInFlight is { } s ? $"{s} songs in flight" : null,
        }.OfType<string>());
        var keys = string.Join(", ", client.Keys.Select(k => k.ExpiresAt is { } end ? $"{k.Hint} (until {Time(end)})" : k.Hint));
        return $"{client.Name}: {(limits.Length > 0 ? limits : "no limits")}; keys {keys}; since {Time(client.CreatedAt)}";
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
}
