using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Api.Mixing;

/// <summary>
/// Mixes as objects beside the stems (output/&lt;songhash&gt;-mix-&lt;gains&gt;.mp3): made once per setting, then read
/// from the store. Requests for a mix being made wait for it rather than make it again. Making one costs a few
/// seconds of CPU, so at most <see cref="ApiOptions.MaxMixesInFlight"/> are made at once (a request for another is
/// told to come back, <see cref="MixBusyException"/>), and a song keeps its <see cref="ApiOptions.MaxKeptMixesPerSong"/>
/// latest mixes: gains have 201 steps each, and a client asking for every setting must not fill the store.
/// </summary>
public sealed class MixCache(IObjectStore store, StemMixer mixer, IOptions<Mp3Options> mp3, IOptions<ApiOptions> api,
    IHostApplicationLifetime lifetime, ILogger<MixCache> logger) : IDisposable
{
    /// <summary>The kind of scratch directory a mix is made in (<see cref="ScratchDirectories"/>).</summary>
    public const string Purpose = "mix";

    private readonly ConcurrentDictionary<ObjectKey, Lazy<Task>> _making = new();
    private readonly SemaphoreSlim _slots = new(api.Value.MaxMixesInFlight, api.Value.MaxMixesInFlight);

    /// <summary>True when every stem of the song is stored (a mix needs all four).</summary>
    public async Task<bool> HasStemsAsync(string songHash, CancellationToken cancellationToken)
    {
        foreach (var track in Stems.Names)
            if (await store.StatAsync(SongObjects.Stem(songHash, track), cancellationToken) is null) return false;
        return true;
    }

    /// <summary>The stored mix, made first if it is not stored yet.</summary>
    public async Task<Stream> OpenAsync(string songHash, MixSettings settings, CancellationToken cancellationToken)
    {
        var key = settings.Key(songHash);
        if (await store.StatAsync(key, cancellationToken) is not null) return await store.OpenReadAsync(key, cancellationToken);
        // Made on the host's token: a client that leaves does not waste the work for the next one.
        var making = _making.GetOrAdd(key, k => new Lazy<Task>(() => MakeAsync(songHash, settings, k, lifetime.ApplicationStopping)));
        await making.Value.WaitAsync(cancellationToken);
        return await store.OpenReadAsync(key, cancellationToken);
    }

    /// <summary>Deletes every kept mix of the song; the names deleted.</summary>
    public async Task<IReadOnlyList<string>> DeleteAsync(string songHash, CancellationToken cancellationToken)
    {
        var deleted = new List<string>();
        await foreach (var mix in store.ListAsync(SongObjects.StemBucket, MixSettings.Prefix(songHash), cancellationToken))
            if (await store.DeleteAsync(mix.Key, cancellationToken)) deleted.Add(mix.Key.Name);
        return deleted;
    }

    public void Dispose() => _slots.Dispose();

    private async Task MakeAsync(string songHash, MixSettings settings, ObjectKey key, CancellationToken cancellationToken)
    {
        if (!_slots.Wait(0, CancellationToken.None))
        {
            _making.TryRemove(key, out _);
            throw new MixBusyException();
        }
        var work = ScratchDirectories.Create(Purpose);
        try
        {
            var started = TimeProvider.System.GetTimestamp();
            var stems = new List<string>();
            foreach (var track in Stems.Names)
            {
                var file = Path.Combine(work.FullName, track + ".mp3");
                await using (var stem = await store.OpenReadAsync(SongObjects.Stem(songHash, track), cancellationToken))
                await using (var copy = File.Create(file))
                    await stem.CopyToAsync(copy, cancellationToken);
                stems.Add(file);
            }
            var mix = Path.Combine(work.FullName, "mix.mp3");
            await using (var output = new FileStream(mix, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
                await mixer.MixAsync(stems, [.. Enumerable.Range(0, Stems.Count).Select(settings.Gain)], output, mp3.Value, cancellationToken);
            await using (var made = File.OpenRead(mix))
                await store.PutAsync(key, made, SongObjects.Mp3ContentType, cancellationToken);
            // The song was removed while this mix was made (its removal deleted the mixes there were then): not kept.
            if (!await HasStemsAsync(songHash, cancellationToken))
            {
                await store.DeleteAsync(key, CancellationToken.None);
                throw new ObjectNotFoundException(key);
            }
            logger.LogInformation("mixed {Key} in {Seconds:F1} s ({Bytes} bytes)", key, TimeProvider.System.GetElapsedTime(started).TotalSeconds,
                new FileInfo(mix).Length);
            await ForgetOldestAsync(songHash, key, cancellationToken);
        }
        catch (MixException e)
        {
            // The stems are ours: a mix that fails is this service's fault, logged as one; the client gets the reason
            // with the scratch directory's path taken out.
            logger.LogError("mixing {Key} failed: {Reason}", key, e.Message);
            throw new MixException(e.Message.Replace(work.FullName + Path.DirectorySeparatorChar, "", StringComparison.Ordinal));
        }
        finally
        {
            _making.TryRemove(key, out _);
            work.Delete(recursive: true);
            _slots.Release();
        }
    }

    // Keeps the song's latest mixes, the one just made among them.
    private async Task ForgetOldestAsync(string songHash, ObjectKey made, CancellationToken cancellationToken)
    {
        var kept = new List<ObjectInfo>();
        await foreach (var mix in store.ListAsync(SongObjects.StemBucket, MixSettings.Prefix(songHash), cancellationToken)) kept.Add(mix);
        foreach (var old in kept.Where(m => m.Key != made).OrderByDescending(m => m.LastModified).Skip(api.Value.MaxKeptMixesPerSong - 1))
            await store.DeleteAsync(old.Key, cancellationToken);
    }
}

/// <summary>As many mixes as <see cref="ApiOptions.MaxMixesInFlight"/> says are being made; the client should come back.</summary>
public sealed class MixBusyException : Exception
{
    public MixBusyException() : base("as many mixes as this service makes at once are being made; try again in a few seconds")
    {
    }
}
