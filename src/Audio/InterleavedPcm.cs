using System.Runtime.InteropServices;

namespace MSaaS.Audio;

/// <summary>Reads interleaved 32-bit float PCM (ffmpeg's <c>f32le</c>) from a stream in whole frames, a block at a time.</summary>
public static class InterleavedPcm
{
    /// <summary>Takes <paramref name="frames"/> whole frames of <c>channels</c> interleaved samples each.</summary>
    public delegate void BlockHandler(ReadOnlySpan<float> samples, int frames);

    /// <summary>
    /// Hands every whole frame of <paramref name="pcm"/> to <paramref name="onBlock"/>, at most
    /// <paramref name="blockFrames"/> at a time, until the stream ends. Returns the bytes left after the last whole frame
    /// (0 when the stream ended on a frame).
    /// </summary>
    public static async Task<int> ReadAsync(Stream pcm, int channels, int blockFrames, BlockHandler onBlock,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockFrames, 1);
        var frameBytes = channels * sizeof(float);
        var buffer = new byte[blockFrames * frameBytes];
        var carried = 0;
        while (true)
        {
            var read = await pcm.ReadAsync(buffer.AsMemory(carried), cancellationToken);
            if (read == 0) return carried;
            var available = carried + read;
            var frames = available / frameBytes;
            if (frames > 0) onBlock(MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, frames * frameBytes)), frames);
            carried = available - frames * frameBytes;
            buffer.AsSpan(frames * frameBytes, carried).CopyTo(buffer);
        }
    }
}
