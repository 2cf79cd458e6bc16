using MassTransit;
using MSaaS.Contracts;

namespace MSaaS.Saga;

#pragma warning disable CS0618 // SeparationCompleted: the one place that still reads it
/// <summary>
/// Turns the two-meaning <see cref="SeparationCompleted"/> of workers from before 2026-12-06 (or one still queued
/// from them) into the event for its meaning, which the saga consumes. Delete it with the type.
/// </summary>
public sealed class SeparationCompletedUpgrade : IConsumer<SeparationCompleted>
{
    public Task Consume(ConsumeContext<SeparationCompleted> context)
    {
        var m = context.Message;
        return m.Encoded is { } encoded
            ? context.Publish(new StemsSeparatedAndEncoded
            {
                SongId = m.SongId, SongHash = m.SongHash, Stems = encoded, DurationSeconds = m.DurationSeconds, Model = m.Model,
            })
            : context.Publish(new StemsSeparated
            {
                SongId = m.SongId, SongHash = m.SongHash, Stems = m.Stems, DurationSeconds = m.DurationSeconds, Model = m.Model,
            });
    }
}
#pragma warning restore CS0618
