using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;
using MSaaS.Audio.Mp3;

namespace MSaaS.Encoding.Consumers;

/// <summary>
/// Encodes a song's separated stems to MP3 and stores them under the names clients fetch
/// (output/&lt;hash&gt;-&lt;track&gt;.mp3), then clears the lossless work copies.
/// </summary>
public sealed class EncodeStemsConsumer(IObjectStore store, FfmpegDecoder decoder, IOptions<Mp3Options> settings, WorkerStop stop,
    ILogger<EncodeStemsConsumer> logger) : IConsumer<EncodeStems>
{
    /// <summary>The kind of scratch directory this consumer works in (<see cref="ScratchDirectories"/>).</summary>
    public const string Purpose = "encode";

    // A stage sent again after it was done answers from the stored stems: no encoding time to count.
    private bool _answeredFromStore;

    // Not started once the process is stopping; cancelled when the stop's grace period is over (WorkerStop).
    public Task Consume(ConsumeContext<EncodeStems> context) =>
        stop.RunAsync(context, $"encoding {context.Message.SongHash}", cancellationToken => Encode(context, cancellationToken));

    private async Task Encode(ConsumeContext<EncodeStems> context, CancellationToken cancellationToken)
    {
        var message = context.Message;
        // Four stems or none of this: an empty list (an older API that missed a worker's final stems) must fail the
        // song, not complete it without stems.
        if (message.Stems.Count != Stems.Names.Count || !Stems.Names.All(message.Stems.ContainsKey))
            throw new EncodingException($"{message.SongHash}: the command names the stems [{string.Join(", ", message.Stems.Keys)}], not the four");
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var work = ScratchDirectories.Create(Purpose);
        try
        {
            var encoded = new Dictionary<string, StoredObject>();
            await Parallel.ForEachAsync(message.Stems,
                new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken },
                async (stem, stemCancellation) =>
                {
                    var key = await Produce(message, stem.Key, stem.Value, work.FullName, stemCancellation);
                    lock (encoded) encoded[stem.Key] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
                });
            logger.LogInformation("encoded {Count} stems of {SongHash}", encoded.Count, message.SongHash);
            if (!_answeredFromStore) EncodingMetrics.Duration.Record(System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalSeconds);

            await context.Publish(new StemsEncoded { SongId = message.SongId, SongHash = message.SongHash, Stems = encoded }, cancellationToken);
            foreach (var stem in message.Stems.Values)
                await store.DeleteAsync(new ObjectKey(stem.Bucket, stem.Name), cancellationToken);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    // Stores the stem in every format asked for; returns the MP3's key (the WAV's when only WAV was asked for).
    private async Task<ObjectKey> Produce(EncodeStems message, string track, StoredObject source, string work, CancellationToken cancellationToken)
    {
        if (!Stems.Names.Contains(track)) throw new EncodingException($"'{track}' is not a stem"); // never a path from a message
        var wav = Path.Combine(work, track + ".wav");
        try
        {
            await using var input = await store.OpenReadAsync(new ObjectKey(source.Bucket, source.Name), cancellationToken);
            await using var file = File.Create(wav);
            await input.CopyToAsync(file, cancellationToken);
        }
        catch (ObjectNotFoundException e)
        {
            // An earlier attempt stored this stem and removed its work copy, but its StemsEncoded was lost (the embedded
            // mode's in-memory bus stopped before the saga took it): the stage is sent again on restart; answer it.
            if (await AlreadyProduced(message, track, cancellationToken) is { } done)
            {
                logger.LogInformation("{Track} of {SongHash} was encoded before its work copy was removed; not encoding again", track, message.SongHash);
                _answeredFromStore = true;
                return done;
            }
            throw new EncodingException($"the separated {track} stem of {message.SongHash} is gone from storage ({e.Key}): separate the song again", e);
        }

        ObjectKey? lossless = null;
        if (message.Formats.Contains("wav"))
        {
            lossless = SongObjects.Stem(message.SongHash, track, "wav");
            await using var file = File.OpenRead(wav);
            await store.PutAsync(lossless.Value, file, SongObjects.WavContentType, cancellationToken);
        }
        return message.Formats.Contains("mp3") || lossless is null
            ? await EncodeMp3(message.SongHash, track, wav, work, cancellationToken)
            : lossless.Value;
    }

    // The key Produce returns for this stem, when every output asked for is already stored; null otherwise.
    private async Task<ObjectKey?> AlreadyProduced(EncodeStems message, string track, CancellationToken cancellationToken)
    {
        var mp3 = SongObjects.Stem(message.SongHash, track);
        var wav = SongObjects.Stem(message.SongHash, track, "wav");
        var wantsMp3 = message.Formats.Contains("mp3") || !message.Formats.Contains("wav");
        if (wantsMp3 && await store.StatAsync(mp3, cancellationToken) is null) return null;
        if (message.Formats.Contains("wav") && await store.StatAsync(wav, cancellationToken) is null) return null;
        return wantsMp3 ? mp3 : wav;
    }

    private async Task<ObjectKey> EncodeMp3(string songHash, string track, string wav, string work, CancellationToken cancellationToken)
    {
        // Block by block from ffmpeg to LAME: memory does not grow with the stem's length.
        var mp3 = Path.Combine(work, track + ".mp3");
        await using (var file = new FileStream(mp3, FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16))
        {
            using var writer = new Mp3Writer(file, settings.Value);
            await decoder.DecodeBlocksAsync(wav, (planes, count) => writer.Write(planes[0].AsSpan(0, count), planes[^1].AsSpan(0, count)),
                Stems.SampleRate, Stems.Channels, cancellationToken: cancellationToken);
            writer.Complete();
        }

        var key = SongObjects.Stem(songHash, track);
        await using (var encoded = File.OpenRead(mp3))
            await store.PutAsync(key, encoded, SongObjects.Mp3ContentType, cancellationToken);
        return key;
    }
}
