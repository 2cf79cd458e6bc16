namespace MSaaS.Audio.Tests;

/// <summary>Interleaved floats read from a stream in whole frames, however the stream hands its bytes over.</summary>
public class InterleavedPcm_Specs
{
    [Fact]
    public async Task Should_hand_on_whole_frames_in_order_when_reads_end_within_a_frame()
    {
        var samples = Enumerable.Range(0, 3 * 1000 + 2).Select(i => (float)i).ToArray(); // 1000 frames of 3, and 2 samples more
        var bytes = System.Runtime.InteropServices.MemoryMarshal.AsBytes(samples.AsSpan()).ToArray();
        var received = new List<float>();
        var blocks = new List<int>();

        var left = await InterleavedPcm.ReadAsync(new TricklingStream(bytes, 7), 3, 64, (block, frames) =>
        {
            Assert.Equal(frames * 3, block.Length);
            blocks.Add(frames);
            received.AddRange(block.ToArray());
        });

        Assert.Equal(samples[..3000], received);
        Assert.All(blocks, f => Assert.InRange(f, 1, 64));
        Assert.Equal(2 * sizeof(float), left);
    }

    [Fact]
    public async Task Should_hand_a_handler_failure_to_the_caller()
    {
        var bytes = new byte[4 * 2 * 100];

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => InterleavedPcm.ReadAsync(new MemoryStream(bytes), 2, 10,
            (_, _) => throw new InvalidOperationException("refused")));

        Assert.Equal("refused", error.Message);
    }

    [Fact]
    public async Task Should_stop_between_reads_once_cancelled()
    {
        using var cancel = new CancellationTokenSource();
        var frames = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => InterleavedPcm.ReadAsync(new TricklingStream(new byte[80_000], 800), 2, 100,
            (_, n) =>
            {
                frames += n;
                cancel.Cancel();
            }, cancel.Token));

        Assert.Equal(100, frames);
    }

    // Hands over at most `chunk` bytes a read, as a pipe hands over what a program has written so far.
    private sealed class TricklingStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(chunk, buffer.Length)]);

        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(chunk, count));
    }
}
