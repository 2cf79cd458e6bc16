using Microsoft.Extensions.Options;
using MSaaS.ServiceDefaults;
using StackExchange.Redis;

namespace MSaaS.Api.Compat;

/// <summary>
/// Writes operational lines to the legacy "logging" list as the reference does ("&lt;host&gt;.&lt;service&gt;.&lt;level&gt;:&lt;message&gt;",
/// LPUSH), trimmed to <see cref="CompatOptions.LoggingCap"/> lines, each message cut to <see cref="MaxMessageLength"/>
/// characters (it may quote a client). Logging never fails the caller.
/// </summary>
public sealed class LegacyLog(IConnectionMultiplexer redis, IOptions<CompatOptions> options)
{
    public const int MaxMessageLength = 1024;

    private readonly string _host = Environment.MachineName;

    public async Task WriteAsync(string service, string level, string message)
    {
        var key = options.Value.LoggingKey;
        try
        {
            var transaction = redis.GetDatabase().CreateTransaction();
            _ = transaction.ListLeftPushAsync(key, $"{_host}.{service}.{level}:{ClientText.Cut(message, MaxMessageLength)}");
            _ = transaction.ListTrimAsync(key, 0, options.Value.LoggingCap - 1);
            await transaction.ExecuteAsync().WaitAsync(TimeSpan.FromSeconds(5));
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // The log list is a courtesy to legacy readers; Redis being away must not stop a song.
        }
    }
}
