using System.CommandLine;
using System.Diagnostics;
using System.Globalization;
using MSaaS.Saga.Persistence;
using MSaaS.Saga;
using StackExchange.Redis;

namespace MSaaS.Cli.Bench;

/// <summary>
/// <c>msaas bench store</c>: how long the Redis saga store takes to list the songs in flight (the query of
/// <c>/apiv1/queue</c> and of the recovery at start) when most of its songs are finished: walking every song by last
/// update, as it must before the per-state index is built, and reading the index. It writes under a key prefix of its
/// own and removes it afterwards.
/// </summary>
internal static class StoreBenchmark
{
    public static Command Create()
    {
        var redis = new Option<string>("--redis")
        {
            Description = "The Redis to use (a StackExchange.Redis configuration string)",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("MSAAS_Redis__Configuration")
                                       ?? Environment.GetEnvironmentVariable("MSAAS_REDIS_ENDPOINT") ?? "127.0.0.1:6379",
        };
        var finished = new Option<int>("--finished") { Description = "Finished songs in the store", DefaultValueFactory = _ => 20_000 };
        var inFlight = new Option<int>("--in-flight") { Description = "Songs being separated, encoded or notified", DefaultValueFactory = _ => 20 };
        var repeat = new Option<int>("--repeat") { Description = "Queries timed each way", DefaultValueFactory = _ => 5 };
        var command = new Command("store", "List the songs in flight from a Redis saga store full of finished songs") { redis, finished, inFlight, repeat };
        command.SetAction((result, cancellationToken) => CliErrors.Run(async () =>
        {
            var (done, running, times) = (result.GetValue(finished), result.GetValue(inFlight), result.GetValue(repeat));
            if (done < 0 || running < 0 || times < 1) throw new ArgumentException("--finished and --in-flight must be 0 or more, --repeat 1 or more");
            using var connection = await ConnectionMultiplexer.ConnectAsync(result.GetValue(redis) + ",abortConnect=true,connectTimeout=5000");
            var prefix = $"msaas-bench-{Guid.NewGuid():N}:";
            try
            {
                var store = new RedisSongStateStore(connection, prefix);
                var filling = Stopwatch.StartNew();
                await Fill(store, done, running, cancellationToken);
                Console.WriteLine($"store: {done} finished songs and {running} in flight in Redis {connection.Configuration.Split(',')[0]} " +
                                  $"(filled in {filling.Elapsed.TotalSeconds:F1} s)");
                var query = new SongQuery { States = [.. SongStates.InFlight], Limit = 10_000 };

                var walked = await Time(store, query, running, times, cancellationToken);
                var indexing = Stopwatch.StartNew();
                await store.BuildStateIndexAsync(cancellationToken);
                var built = indexing.Elapsed;
                var indexed = await Time(store, query, running, times, cancellationToken);

                Console.WriteLine($"songs in flight, walking every song (ms): {Format(walked)}");
                Console.WriteLine($"building the per-state index once: {built.TotalSeconds:F1} s");
                Console.WriteLine($"songs in flight, from the per-state index (ms): {Format(indexed)}");
                return 0;
            }
            finally
            {
                await RemoveAsync(connection, prefix);
            }
        }));
        return command;
    }

    // Removes what the bench wrote; a failure here is reported without hiding the bench's own.
    private static async Task RemoveAsync(ConnectionMultiplexer connection, string prefix)
    {
        try
        {
            var keys = new List<RedisKey>();
            foreach (var server in connection.GetServers().Where(server => !server.IsReplica))
                await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000)) keys.Add(key);
            foreach (var chunk in keys.Chunk(1000)) await connection.GetDatabase().KeyDeleteAsync(chunk);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            Console.Error.WriteLine($"msaas: could not remove the bench's keys ({e.Message}); remove {prefix}* by hand");
        }
    }

    // Finished songs updated after every song in flight, so that a walk newest first meets them all before.
    private static async Task Fill(RedisSongStateStore store, int finished, int inFlight, CancellationToken cancellationToken)
    {
        var start = DateTimeOffset.UtcNow.AddDays(-1);
        string[] states = [.. SongStates.InFlight];
        var songs = Enumerable.Range(0, inFlight).Select(i => Song(states[i % states.Length], start.AddSeconds(i)))
            .Concat(Enumerable.Range(0, finished).Select(i => Song(SongStates.Completed, start.AddSeconds(inFlight + i))));
        foreach (var chunk in songs.Chunk(500))
            await Task.WhenAll(chunk.Select(song => store.InsertAsync(song, cancellationToken)));
    }

    private static SongState Song(string state, DateTimeOffset updated) => new()
    {
        CorrelationId = Guid.NewGuid(),
        CurrentState = state,
        SongHash = Convert.ToHexStringLower(Guid.NewGuid().ToByteArray()),
        CreatedAt = updated,
        UpdatedAt = updated,
        History = [new SongTransition(updated, "Initial", state)],
    };

    private static async Task<List<double>> Time(RedisSongStateStore store, SongQuery query, int expected, int times, CancellationToken cancellationToken)
    {
        var result = new List<double>();
        for (var i = 0; i < times; i++)
        {
            var watch = Stopwatch.StartNew();
            var songs = await store.QueryAsync(query, cancellationToken);
            result.Add(watch.Elapsed.TotalMilliseconds);
            if (songs.Count != expected) throw new InvalidOperationException($"the query found {songs.Count} songs in flight, not {expected}");
        }
        return result;
    }

    private static string Format(List<double> times) =>
        string.Join(", ", times.Select(t => t.ToString("F1", CultureInfo.InvariantCulture))) +
        $" (median {times.Order().ElementAt(times.Count / 2).ToString("F1", CultureInfo.InvariantCulture)})";
}
