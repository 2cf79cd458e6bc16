using System.Collections.Concurrent;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace MSaaS.Testing;

/// <summary>A client's webhook endpoint on 127.0.0.1: records every POST (path, body, headers) it receives.</summary>
internal sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private WebhookReceiver(WebApplication app) => _app = app;

    /// <summary>http://127.0.0.1:port, without a trailing slash.</summary>
    public string Url => _app.Urls.First();

    public ConcurrentQueue<ReceivedHook> Received { get; } = new();

    /// <summary>The bodies received so far, in arrival order.</summary>
    public IReadOnlyList<string> Bodies => Received.Select(h => h.Body).ToList();

    /// <summary>How the n-th POST (from 1) is answered: 200 at once unless a test says otherwise.</summary>
    public Func<int, HookAnswer> Answer { get; set; } = _ => new HookAnswer(StatusCodes.Status200OK);

    public static async Task<WebhookReceiver> StartAsync()
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var app = builder.Build();
        var receiver = new WebhookReceiver(app);
        var calls = 0;
        app.MapPost("/{**path}", async (HttpRequest request, HttpResponse response) =>
        {
            using var reader = new StreamReader(request.Body);
            var body = await reader.ReadToEndAsync();
            receiver.Received.Enqueue(new ReceivedHook(request.Path, body,
                request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase)));
            var answer = receiver.Answer(Interlocked.Increment(ref calls));
            if (answer.Delay > TimeSpan.Zero) await Task.Delay(answer.Delay, request.HttpContext.RequestAborted);
            if (answer.Location is not null) response.Headers.Location = answer.Location;
            return Results.StatusCode(answer.Status);
        });
        await app.StartAsync();
        return receiver;
    }

    /// <summary>Waits until <paramref name="count"/> hooks have arrived (or the time is up) and returns what arrived.</summary>
    public async Task<IReadOnlyList<ReceivedHook>> WaitForAsync(int count, TimeSpan within)
    {
        var until = DateTime.UtcNow + within;
        while (Received.Count < count && DateTime.UtcNow < until) await Task.Delay(20);
        return [.. Received];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record ReceivedHook(string Path, string Body, IReadOnlyDictionary<string, string> Headers);

/// <summary>A status, after a delay, with a Location header for a redirect.</summary>
internal sealed record HookAnswer(int Status, TimeSpan Delay = default, string? Location = null);
