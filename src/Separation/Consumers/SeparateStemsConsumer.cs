using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.Audio.Mp3;
using MSaaS.Separation.Live;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Separation.Consumers;

/// <summary>
/// Separates an uploaded song: fetches it from storage, decodes, separates (reporting progress as it goes) and
/// stores the four stems. When the command names the formats wanted and Separation:EncodeWhileSeparating is on (the
/// default), each finished block goes straight to LAME on threads of its own and the stems are stored under their
/// final names, so the song needs no encoding stage; otherwise they go losslessly to the work bucket for the encoder.
/// </summary>
public sealed class SeparateStemsConsumer(IStemSeparator separator, IObjectStore store, FfmpegDecoder decoder,
    IOptions<SeparationEngineOptions> engine, IOptions<Mp3Options> mp3, WorkerStop stop, ILogger<SeparateStemsConsumer> logger)
    : IConsumer<SeparateStems>
{
    // Not started once the process is stopping; cancelled when the stop's grace period is over (WorkerStop).
    public Task Consume(ConsumeContext<SeparateStems> context) =>
        stop.RunAsync(context, $"separating {context.Message.SongHash}", cancellationToken => Separate(context, cancellationToken));

    private async Task Separate(ConsumeContext<SeparateStems> context, CancellationToken cancellationToken)
    {
        var message = context.Message;
        var work = ScratchDirectories.Create(Purpose);
        try
        {
            // A fixed local name: an object's name is the client's (a legacy message may say "legacy/<hash>.mp3"),
            // never a path here. Decoder errors still name the stored object.
            var input = Path.Combine(work.FullName, "upload");
            SpooledAudio mix; // on disk: memory does not grow with the song's length
            try
            {
                await using (var source = await store.OpenReadAsync(Key(message.Upload), cancellationToken))
                await using (var file = File.Create(input))
                    await source.CopyToAsync(file, cancellationToken);
                mix = await decoder.DecodeToDiskAsync(input, work.FullName, Stems.SampleRate, Stems.Channels, message.Upload.Name,
                    engine.Value.MaxSongLength, cancellationToken);
            }
            catch (ObjectNotFoundException)
            {
                // Removed between its announcement and now (a client removed the song as another sent it again).
                await RefuseAsync(context, "the uploaded song is no longer in storage (it was removed before it was separated): send it again",
                    inputRejected: false, cancellationToken);
                return;
            }
            catch (AudioFormatException e)
            {
                await RefuseAsync(context, e.Message, inputRejected: true, cancellationToken);
                return;
            }
            using var decoded = mix;
            logger.LogInformation("separating {SongHash} ({Seconds:F1} s), attempt {Attempt}", message.SongHash, mix.Duration.TotalSeconds, message.Attempt);

            var stemsDirectory = Directory.CreateDirectory(Path.Combine(work.FullName, "stems")).FullName;
            // Final formats here, or the lossless work copy the encoding service takes on.
            var formats = engine.Value.EncodeWhileSeparating ? Formats(message) : [];
            if (formats.Count > 0 && await StoredSince(message.SongHash, formats, message.AttemptStartedAt, cancellationToken) is { } stored)
            {
                // Sent again after a run of this attempt stored the stems and stopped before it acknowledged the command
                // (or before the saga heard of them): answered from the store, not separated twice.
                logger.LogInformation("the stems of {SongHash} were stored by an earlier run of attempt {Attempt}: not separating it again",
                    message.SongHash, message.Attempt);
                await context.Publish(new StemsSeparatedAndEncoded
                {
                    SongId = message.SongId, SongHash = message.SongHash, Stems = stored, DurationSeconds = mix.Duration.TotalSeconds, Model = message.Model,
                }, cancellationToken);
                await DeleteWorkStems(message.SongHash, cancellationToken);
                await DeleteLiveParts(message.SongHash, cancellationToken);
                return;
            }
            var started = Stopwatch.GetTimestamp();
            // The MP3 of each stem, as it is encoded, in parts listeners can play before the song is finished.
            var run = Guid.NewGuid(); // a redelivery of this command is another run, with parts of its own
            await using var live = formats.Contains("mp3")
                ? new LiveStemParts(store, message.SongHash, run, (seconds, parts) => context.Publish(
                    new LivePartsStored { SongId = message.SongId, Attempt = message.Attempt, Run = run, Seconds = seconds, Parts = parts },
                    cancellationToken), logger)
                : null;
            await using (var sink = new StemFileSink(stemsDirectory, formats.Count > 0 ? formats : ["wav"], mp3.Value,
                StemFileSink.EncoderThreadsFor(engine.Value.SongsInParallel), live))
            {
                using (SeparationMetrics.Separating())
                {
                    await using var progress = new ProgressPublisher(context, mix.Duration.TotalSeconds);
                    var options = new SeparationOptions
                    {
                        Shifts = message.Separation.Shifts, Overlap = message.Separation.Overlap, Normalize = message.Separation.Normalize,
                    };
                    await separator.SeparateAsync(mix, sink, options, progress, cancellationToken);
                    await sink.CompleteAsync(); // the encoders' last blocks and the MP3s' LAME tags
                }
                var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                if (formats.Contains("mp3")) SeparationMetrics.EncoderWait.Record(sink.WaitedForEncoders.TotalSeconds);
                SeparationMetrics.Duration.Record(seconds);
                if (mix.Duration.TotalSeconds > 0) SeparationMetrics.RealTimeFactor.Record(seconds / mix.Duration.TotalSeconds);

                // Removed while it was separated (a removal deletes the upload): final stems stored now would be served
                // with no song behind them. (Work stems are not served; the encoder finds the song gone.)
                if (formats.Count > 0 && await store.StatAsync(Key(message.Upload), cancellationToken) is null)
                {
                    await RefuseAsync(context, "the song was removed while it was separated: send it again", inputRejected: false, cancellationToken);
                    return;
                }
                if (formats.Count > 0)
                {
                    if (live is not null) await live.FlushAsync(); // a part stored after the stems would never be removed
                    await context.Publish(new StemsSeparatedAndEncoded
                    {
                        SongId = message.SongId, SongHash = message.SongHash, Stems = await StoreFinal(message.SongHash, sink, cancellationToken),
                        DurationSeconds = mix.Duration.TotalSeconds, Model = message.Model,
                    }, cancellationToken);
                    await DeleteWorkStems(message.SongHash, cancellationToken);
                    await DeleteLiveParts(message.SongHash, cancellationToken);
                }
                else
                {
                    await context.Publish(new StemsSeparated
                    {
                        SongId = message.SongId, SongHash = message.SongHash, Stems = await StoreWork(message.SongHash, sink, cancellationToken),
                        DurationSeconds = mix.Duration.TotalSeconds, Model = message.Model,
                    }, cancellationToken);
                }
            }
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    // The formats the command asks for that this worker makes; empty when it names none (a command from before formats were sent).
    private static List<string> Formats(SeparateStems message) =>
        [.. message.Formats.Select(f => f.ToLowerInvariant()).Where(f => f is "mp3" or "wav").Distinct()];

    // Stores every format of every stem under its final name; returns track -> the MP3 (the WAV when only WAV was asked for).
    private async Task<Dictionary<string, StoredObject>> StoreFinal(string songHash, StemFileSink sink, CancellationToken cancellationToken)
    {
        var stems = new Dictionary<string, StoredObject>();
        foreach (var track in Stems.Names)
            foreach (var format in sink.Formats.OrderBy(f => f == "mp3")) // the MP3 last, so it is the one kept
            {
                var key = SongObjects.Stem(songHash, track, format);
                await using var file = File.OpenRead(sink.PathOf(track, format));
                await store.PutAsync(key, file, format == "mp3" ? SongObjects.Mp3ContentType : SongObjects.WavContentType, cancellationToken);
                stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
            }
        return stems;
    }

    // The stems StoreFinal would return, when every format asked for of every stem was stored since the attempt started
    // (so by a run of it, not by an earlier separation of the song); null otherwise. Some stores keep whole seconds.
    private async Task<Dictionary<string, StoredObject>?> StoredSince(string songHash, IReadOnlyCollection<string> formats, DateTimeOffset? started,
        CancellationToken cancellationToken)
    {
        if (started is not { } since) return null;
        var from = since.AddTicks(-(since.UtcTicks % TimeSpan.TicksPerSecond));
        var stems = new Dictionary<string, StoredObject>();
        foreach (var track in Stems.Names)
            foreach (var format in formats.OrderBy(f => f == "mp3"))
            {
                var key = SongObjects.Stem(songHash, track, format);
                if (await store.StatAsync(key, cancellationToken) is not { } found || found.LastModified < from) return null;
                stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
            }
        return stems;
    }

    // An earlier attempt's lossless copies (one that left the encoding to the encoding service and failed there) are
    // not needed once the final stems are stored; nothing else would remove them.
    private async Task DeleteWorkStems(string songHash, CancellationToken cancellationToken)
    {
        try
        {
            foreach (var track in Stems.Names) await store.DeleteAsync(SongObjects.WorkStem(songHash, track), cancellationToken);
        }
        catch (ObjectStoreException e)
        {
            // The song is done; the store's trouble is the operator's to look at, in one line.
            logger.LogWarning("could not remove the work stems of {SongHash}: {Reason}", songHash, e.Message);
        }
    }

    // Listeners read on in the complete stems, at the same offset, once they are stored: every attempt's parts go.
    private async Task DeleteLiveParts(string songHash, CancellationToken cancellationToken)
    {
        try
        {
            var parts = await store.ListAsync(SongObjects.WorkBucket, SongObjects.LivePrefix(songHash), cancellationToken).ToListAsync(cancellationToken);
            foreach (var part in parts) await store.DeleteAsync(part.Key, cancellationToken);
        }
        catch (ObjectStoreException e)
        {
            logger.LogWarning("could not remove the live parts of {SongHash}: {Reason}", songHash, e.Message);
        }
    }

    // Stores the lossless stems in the work bucket for the encoding service.
    private async Task<Dictionary<string, StoredObject>> StoreWork(string songHash, StemFileSink sink, CancellationToken cancellationToken)
    {
        var stems = new Dictionary<string, StoredObject>();
        foreach (var track in Stems.Names)
        {
            var key = SongObjects.WorkStem(songHash, track);
            await using var stem = File.OpenRead(sink.PathOf(track, "wav"));
            await store.PutAsync(key, stem, SongObjects.WavContentType, cancellationToken);
            stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
        }
        return stems;
    }

    private async Task RefuseAsync(ConsumeContext<SeparateStems> context, string reason, bool inputRejected, CancellationToken cancellationToken)
    {
        logger.LogInformation("not separating {SongHash}: {Reason}", context.Message.SongHash, reason);
        SeparationMetrics.Refused.Add(inputRejected ? "not_audio" : "gone");
        await context.Publish(new SeparationRefused
        {
            SongId = context.Message.SongId, SongHash = context.Message.SongHash, Reason = reason, InputRejected = inputRejected,
        }, cancellationToken);
    }

    /// <summary>The kind of scratch directory this consumer works in (<see cref="ScratchDirectories"/>).</summary>
    public const string Purpose = "separate";

    private static ObjectKey Key(StoredObject o) => new(o.Bucket, o.Name);

    /// <summary>Publishes progress from the separation thread without blocking it, in order, and waits for the last on dispose.</summary>
    private sealed class ProgressPublisher : IProgress<SeparationProgress>, IAsyncDisposable
    {
        private readonly Channel<SeparationProgress> _queue = Channel.CreateUnbounded<SeparationProgress>(new() { SingleReader = true });
        private readonly Task _publishing;

        public ProgressPublisher(ConsumeContext<SeparateStems> context, double songSeconds)
        {
            _publishing = Task.Run(async () =>
            {
                await foreach (var p in _queue.Reader.ReadAllAsync())
                    await context.Publish(new SeparationProgressed
                    {
                        SongId = context.Message.SongId, SegmentsDone = p.SegmentsDone, SegmentsTotal = p.SegmentsTotal, SongSeconds = songSeconds,
                    });
            });
        }

        public void Report(SeparationProgress value) => _queue.Writer.TryWrite(value);

        public async ValueTask DisposeAsync()
        {
            _queue.Writer.TryComplete();
            await _publishing;
        }
    }
}
