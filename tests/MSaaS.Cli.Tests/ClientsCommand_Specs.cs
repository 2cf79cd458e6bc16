using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace MSaaS.Cli.Tests;

/// <summary><c>msaas clients</c>: the clients of the data directory a running <c>msaas serve</c> uses, changed under it.</summary>
[Collection("console")]
public sealed class ClientsCommand_Specs : IDisposable
{
    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("msaas-clients-cli-");
    private const string ServiceSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

    // The command reads the MSAAS_ settings the services read; this one points it at the spec's data directory.
    public ClientsCommand_Specs() => Environment.SetEnvironmentVariable("MSAAS_Storage__Root", _root.FullName);

    [Fact]
    public async Task Should_add_list_rekey_and_remove_clients_that_a_running_service_sees_at_once()
    {
        await using var app = ServeCommand.Build(["--urls", "http://127.0.0.1:0"], new Dictionary<string, string?>
        {
            ["Storage:Root"] = _root.FullName,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Api:Clients"] = "keys",
        });
        await app.StartAsync();
        using var http = new HttpClient { BaseAddress = new Uri(app.Urls.First()) };

        var (code, output, errors) = await CliRunner.Run("clients", "add", "acme", "--minutes-per-month", "600", "--json",
            "--Webhooks:SigningSecret=" + ServiceSecret);
        Assert.True(code == 0, errors);
        var first = JsonDocument.Parse(output).RootElement.GetProperty("key").GetString()!;
        // The client's own webhook secret, as the notifications service derives it from the service's and the client's id.
        var id = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(_root.FullName, "clients", "clients.json")))
            .RootElement.GetProperty("clients")[0].GetProperty("id").GetString()!;
        Assert.Equal(MSaaS.ServiceDefaults.WebhookSecrets.ForClient(ServiceSecret, id), JsonDocument.Parse(output).RootElement.GetProperty("secret").GetString());
        (code, output, _) = await CliRunner.Run("clients", "secret", "anonymous", "--Webhooks:SigningSecret=" + ServiceSecret);
        Assert.Equal((0, MSaaS.ServiceDefaults.WebhookSecrets.ForClient(ServiceSecret, "anonymous")), (code, output.Trim()));
        Assert.Equal(HttpStatusCode.OK, await Queue(http, first));

        (code, output, _) = await CliRunner.Run("clients", "list");
        Assert.Equal(0, code);
        Assert.Contains("acme: 600 min a month; keys " + first[..8] + "…", output);
        Assert.DoesNotContain(first, output);

        (code, output, _) = await CliRunner.Run("clients", "key", "acme", "--json");
        Assert.Equal(0, code);
        var second = JsonDocument.Parse(output).RootElement.GetProperty("key").GetString()!;
        Assert.Equal(HttpStatusCode.OK, await Queue(http, first)); // for a day
        Assert.Equal(HttpStatusCode.OK, await Queue(http, second));

        Assert.Equal(0, (await CliRunner.Run("clients", "remove", "acme")).Code);
        Assert.Equal(HttpStatusCode.Unauthorized, await Queue(http, second));
        await app.StopAsync();
    }

    [Theory]
    [InlineData("remove", "nobody", "no client nobody")]
    [InlineData("key", "nobody", "no client nobody")]
    [InlineData("add", "Not-Lower", "a client's name is")]
    public async Task Should_fail_with_one_line_and_a_non_zero_exit(string command, string name, string message)
    {
        var (code, output, errors) = await CliRunner.Run("clients", command, name);

        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.StartsWith("msaas: error: " + message, errors);
    }

    private static async Task<HttpStatusCode> Queue(HttpClient http, string key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/apiv1/queue");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    public void Dispose()
    {
        Environment.SetEnvironmentVariable("MSAAS_Storage__Root", null);
        _root.Delete(recursive: true);
    }
}
