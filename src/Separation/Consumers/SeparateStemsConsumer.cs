using System.Diagnostics;
using System.Threading.Channels;
using MassTransit;
using Microsoft.Extensions.Logging;
using MSaaS.Audio;
using MSaaS.Contracts;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Separation.Consumers;

/// <summary>
/// Separates an uploaded song: fetches it from storage, decodes, separates (reporting progress as it goes) and
/// stores the four stems losslessly in the work bucket for the encoder.
/// </summary>
public sealed class SeparateStemsConsumer(IStemSeparator separator, IObjectStore store, FfmpegDecoder decoder,
    ILogger<SeparateStemsConsumer> logger) : IConsumer<SeparateStems>
{
    public async Task Consume(ConsumeContext<SeparateStems> context)
    {
        var message = context.Message;
        var cancellationToken = context.CancellationToken;
        var work = ScratchDirectories.Create(Purpose);
        try
        {
            // A fixed local name: an object's name is the client's (a legacy message may say "legacy/<hash>.mp3"),
            // never a path here. Decoder errors still name the stored object.
            var input = Path.Combine(work.FullName, "upload");
            AudioBuffer mix;
            try
            {
                await using (var source = await store.OpenReadAsync(Key(message.Upload), cancellationToken))
                await using (var file = File.Create(input))
                    await source.CopyToAsync(file, cancellationToken);
                mix = await decoder.DecodeAsync(input, Stems.SampleRate, Stems.Channels, message.Upload.Name, cancellationToken);
            }
            catch (ObjectNotFoundException)
            {
                // Removed between its announcement and now (a client removed the song as another sent it again).
                await RefuseAsync(context, "the uploaded song is no longer in storage (it was removed before it was separated): send it again",
                    inputRejected: false);
                return;
            }
            catch (AudioFormatException e)
            {
                await RefuseAsync(context, e.Message, inputRejected: true);
                return;
            }
            logger.LogInformation("separating {SongHash} ({Seconds:F1} s), attempt {Attempt}", message.SongHash, mix.Duration.TotalSeconds, message.Attempt);

            var stemsDirectory = Path.Combine(work.FullName, "stems");
            var started = Stopwatch.GetTimestamp();
            using (SeparationMetrics.Separating())
            using (var sink = new WavStemSink(stemsDirectory))
            {
                await using var progress = new ProgressPublisher(context);
                var options = new SeparationOptions
                {
                    Shifts = message.Separation.Shifts, Overlap = message.Separation.Overlap, Normalize = message.Separation.Normalize,
                };
                await separator.SeparateAsync(mix, sink, options, progress, cancellationToken);
                sink.Complete();
            }
            var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
            SeparationMetrics.Duration.Record(seconds);
            if (mix.Duration.TotalSeconds > 0) SeparationMetrics.RealTimeFactor.Record(seconds / mix.Duration.TotalSeconds);

            var stems = new Dictionary<string, StoredObject>();
            foreach (var track in Stems.Names)
            {
                var key = SongObjects.WorkStem(message.SongHash, track);
                await using var stem = File.OpenRead(Path.Combine(stemsDirectory, track + ".wav"));
                await store.PutAsync(key, stem, SongObjects.WavContentType, cancellationToken);
                stems[track] = new StoredObject { Bucket = key.Bucket, Name = key.Name };
            }
            await context.Publish(new SeparationCompleted
            {
                SongId = message.SongId, SongHash = message.SongHash, Stems = stems,
                DurationSeconds = mix.Duration.TotalSeconds, Model = message.Model,
            }, cancellationToken);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private async Task RefuseAsync(ConsumeContext<SeparateStems> context, string reason, bool inputRejected)
    {
        logger.LogInformation("not separating {SongHash}: {Reason}", context.Message.SongHash, reason);
        SeparationMetrics.Refused.Add(inputRejected ? "not_audio" : "gone");
        await context.Publish(new SeparationRefused
        {
            SongId = context.Message.SongId, SongHash = context.Message.SongHash, Reason = reason, InputRejected = inputRejected,
        }, context.CancellationToken);
    }

    /// <summary>The kind of scratch directory this consumer works in (<see cref="ScratchDirectories"/>).</summary>
    public const string Purpose = "separate";

    private static ObjectKey Key(StoredObject o) => new(o.Bucket, o.Name);

    /// <summary>Publishes progress from the separation thread without blocking it, in order, and waits for the last on dispose.</summary>
    private sealed class ProgressPublisher : IProgress<SeparationProgress>, IAsyncDisposable
    {
        private readonly Channel<SeparationProgress> _queue = Channel.CreateUnbounded<SeparationProgress>(new() { SingleReader = true });
        private readonly Task _publishing;

        public ProgressPublisher(ConsumeContext<SeparateStems> context)
        {
            _publishing = Task.Run(async () =>
            {
                await foreach (var p in _queue.Reader.ReadAllAsync())
                    await context.Publish(new SeparationProgressed { SongId = context.Message.SongId, SegmentsDone = p.SegmentsDone, SegmentsTotal = p.SegmentsTotal });
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
