using MassTransit;
using MSaaS.Contracts;

namespace MSaaS.Api.Compat;

/// <summary>Puts the pipeline's milestones on the legacy "logging" list, where existing log readers look.</summary>
public sealed class LegacyLogConsumer(LegacyLog log) :
    IConsumer<SongUploaded>, IConsumer<StemsSeparated>, IConsumer<StemsSeparatedAndEncoded>, IConsumer<StemsEncoded>, IConsumer<Notified>,
    IConsumer<Fault<SeparateStems>>, IConsumer<Fault<EncodeStems>>
{
    public Task Consume(ConsumeContext<SongUploaded> context) =>
        log.WriteAsync("rest", "info", $"song {context.Message.SongHash} enqueued from {context.Message.Source} (model {context.Message.Model})");

    public Task Consume(ConsumeContext<StemsSeparated> context) => Separated(context.Message.SongHash, context.Message.DurationSeconds);

    public async Task Consume(ConsumeContext<StemsSeparatedAndEncoded> context)
    {
        await Separated(context.Message.SongHash, context.Message.DurationSeconds);
        // The line the encoding stage would have written.
        await log.WriteAsync("worker", "info", $"song {context.Message.SongHash}: {context.Message.Stems.Count} stems stored");
    }

    private Task Separated(string hash, double seconds) => log.WriteAsync("worker", "info", $"song {hash} separated ({seconds:F1} s of audio)");

    public Task Consume(ConsumeContext<StemsEncoded> context) =>
        log.WriteAsync("worker", "info", $"song {context.Message.SongHash}: {context.Message.Stems.Count} stems stored");

    public Task Consume(ConsumeContext<Notified> context) =>
        log.WriteAsync("worker", context.Message.Delivered ? "info" : "error",
            $"song {context.Message.SongId}: webhook {(context.Message.Delivered ? "delivered" : "failed: " + context.Message.Error)}");

    public Task Consume(ConsumeContext<Fault<SeparateStems>> context) =>
        log.WriteAsync("worker", "error", $"song {context.Message.Message.SongHash}: separation failed: {context.Message.Exceptions.FirstOrDefault()?.Message}");

    public Task Consume(ConsumeContext<Fault<EncodeStems>> context) =>
        log.WriteAsync("worker", "error", $"song {context.Message.Message.SongHash}: encoding failed: {context.Message.Exceptions.FirstOrDefault()?.Message}");
}
