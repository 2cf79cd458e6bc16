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
    /// <remarks>
    /// The stream is read with blocking reads on a thread of its own. ffmpeg writes a packet at a time (an MP3 frame
    /// is 9 KB of stereo floats), and with an asynchronous read per packet a 3-minute song's decoding cost this process
    /// 0.27-0.61 s of processor time, about as much as ffmpeg's, against 0.19-0.31 s with blocking reads
    /// (docs/benchmarks.md, "Decoding"). A cancellation is seen between reads: a read waiting on a program's output ends when the program
    /// is stopped, as ExternalProgram does on cancellation.
    /// </remarks>
    public static Task<int> ReadAsync(Stream pcm, int channels, int blockFrames, BlockHandler onBlock,
        CancellationToken cancellationToken = default)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(channels, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(blockFrames, 1);
        return Task.Factory.StartNew(() => Read(pcm, channels, blockFrames, onBlock, cancellationToken), cancellationToken,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    private static int Read(Stream pcm, int channels, int blockFrames, BlockHandler onBlock, CancellationToken cancellationToken)
    {
        var frameBytes = channels * sizeof(float);
        var buffer = new byte[blockFrames * frameBytes];
        var carried = 0;
        while (true)
        {
            var read = pcm.Read(buffer.AsSpan(carried));
            cancellationToken.ThrowIfCancellationRequested();
            if (read == 0) return carried;
            var available = carried + read;
            var frames = available / frameBytes;
            if (frames > 0) onBlock(MemoryMarshal.Cast<byte, float>(buffer.AsSpan(0, frames * frameBytes)), frames);
            carried = available - frames * frameBytes;
            buffer.AsSpan(frames * frameBytes, carried).CopyTo(buffer);
        }
    }
}
