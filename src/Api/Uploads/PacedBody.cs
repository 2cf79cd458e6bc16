using System.Globalization;

namespace MSaaS.Api.Uploads;

/// <summary>
/// A request body that must keep pace: after <c>grace</c>, the bytes must arrive at <c>bytesPerSecond</c> on average,
/// so the next byte is due by <c>grace + (received + 1) / bytesPerSecond</c>. A read that waits past that point ends
/// with a 408 <see cref="RequestRefusedException"/>, so that a client sending a few hundred bytes a second (above
/// Kestrel's own minimum rate) cannot hold an upload slot for minutes, whatever length it declares. A body that
/// arrives at that rate arrives whole in the time its size allows.
/// </summary>
internal sealed class PacedBody(Stream inner, long bytesPerSecond, TimeSpan grace, TimeProvider clock) : Stream
{
    // A CancellationTokenSource takes delays up to about 49 days; a read due later than this waits without one.
    private static readonly TimeSpan LongestTimer = TimeSpan.FromDays(30);

    private readonly long _started = clock.GetTimestamp();

    /// <summary>The body's bytes read so far.</summary>
    public long Received { get; private set; }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => Received; set => throw new NotSupportedException(); }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        var left = Due() - clock.GetElapsedTime(_started);
        if (left <= TimeSpan.Zero) throw TooSlow();
        if (left > LongestTimer) return Count(await inner.ReadAsync(buffer, cancellationToken));
        using var due = new CancellationTokenSource(left, clock);
        using var either = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, due.Token);
        try
        {
            return Count(await inner.ReadAsync(buffer, either.Token));
        }
        catch (OperationCanceledException) when (due.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw TooSlow();
        }
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    // When the next byte must have arrived by: the time of what came so far and one more byte.
    private TimeSpan Due() => grace + TimeSpan.FromSeconds((double)(Received + 1) / bytesPerSecond);

    private int Count(int read)
    {
        Received += read;
        return read;
    }

    private RequestRefusedException TooSlow()
    {
        var seconds = clock.GetElapsedTime(_started).TotalSeconds;
        var rate = bytesPerSecond >= 1024 ? $"{bytesPerSecond / 1024} KiB/s" : $"{bytesPerSecond} bytes/s";
        return new RequestRefusedException(408, string.Create(CultureInfo.InvariantCulture,
            $"the upload arrived too slowly ({Received} bytes in {seconds:0.#} s): this service needs {rate} on average after the first {grace.TotalSeconds:0.#} s"));
    }
}
