using System.Buffers;
using System.Diagnostics;
using System.Runtime.ExceptionServices;
using System.Threading.Channels;


namespace MSaaS.Audio.Mp3;

/// <summary>
/// Writes the stems, as the separator hands them on, to DIR/&lt;stem&gt;.wav and/or DIR/&lt;stem&gt;.mp3. WAV is
/// written on the separating thread (a copy); MP3 is encoded by LAME on encoder threads of its own, so that a song's
/// encoding overlaps its separation instead of following it (a 3-minute song's four stems are about 13 s of one core).
/// A file appears under its name only once complete.
/// </summary>
/// <remarks>
/// Each stem has one <see cref="Mp3Writer"/>, owned by one encoder thread (but for the first second while a listener
/// waits, which the separating thread may encode before the stem's next block is queued); a block is copied once and
/// queued to the thread of each stem, and so is the mark where a segment ended, which reaches the listener once the
/// blocks before it are encoded. The queues are bounded: when the encoders fall behind (a GPU separates faster than LAME
/// encodes), <see cref="Write"/> waits for them rather than holding the song in memory.
/// </remarks>
public sealed class StemFileSink : IStemSink, IAsyncDisposable
{
    /// <summary>The most frames in one queued block: what the separator hands on at a time, and the unit of the queues' bound.</summary>
    private const int BlockFrames = 1 << 16;

    /// <summary>
    /// Blocks (and segments' ends) a stem's queue holds before the separator waits: at most 24 s of audio, 8 MiB per stem.
    /// </summary>
    private const int QueuedBlocks = 16;

    /// <summary>
    /// The song's first block, when a listener waits: a little over a second with LAME's delay (1.11 s), so that the
    /// first second is encoded and handed on without the rest of a whole block.
    /// </summary>
    private const int FirstBlockFrames = 49_152;

    /// <summary>How long <see cref="Write"/> holds the separator for <see cref="IMp3StemListener.FirstAudioOut"/>, at most.</summary>
    internal TimeSpan FirstAudioWait { get; init; } = TimeSpan.FromSeconds(2);

    private readonly WavStemSink? _wav;
    private readonly Mp3Writer?[] _mp3 = new Mp3Writer?[Stems.Count];
    private readonly FileStream?[] _mp3Files = new FileStream?[Stems.Count];
    private readonly Channel<Block>[] _queues = new Channel<Block>[Stems.Count];
    private readonly Task[] _encoders = [];
    private Task? _completion;
    private bool _closed;
    private volatile bool _abandoned;
    private Exception? _failure;
    private long _waitTicks;
    private readonly IMp3StemListener? _listener;
    private readonly long[] _samplesIn = new long[Stems.Count];
    // The stems whose first second the encoder threads encode; the separating thread, which waits for that second
    // anyway, encodes the others' (in Write).
    private readonly int _encodedByTheEncodersFirst = Stems.Count;
    private long _written;

    /// <param name="directory">Where the files go; it must exist.</param>
    /// <param name="formats">"mp3" and/or "wav".</param>
    /// <param name="mp3">LAME's settings.</param>
    /// <param name="encoderThreads">Threads that run LAME (each owns whole stems); 0 for <see cref="DefaultEncoderThreads"/>.</param>
    /// <param name="listener">Told of each stem's MP3 bytes as they are encoded (live listening), on the encoder threads (the
    /// first second of some stems on the separating thread).</param>
    public StemFileSink(string directory, IReadOnlyCollection<string> formats, Mp3Options mp3, int encoderThreads = 0,
        IMp3StemListener? listener = null)
    {
        _listener = listener;
        if (formats.Count == 0 || formats.Any(f => f is not ("mp3" or "wav")))
            throw new ArgumentException($"formats must be mp3 and/or wav, not [{string.Join(", ", formats)}]", nameof(formats));
        Directory = directory;
        Formats = [.. formats.Distinct()];
        try
        {
            if (formats.Contains("wav")) _wav = new WavStemSink(directory);
            if (!formats.Contains("mp3")) return;
            for (var s = 0; s < Stems.Count; s++)
            {
                _mp3Files[s] = new FileStream(PartialPath(s), FileMode.Create, FileAccess.ReadWrite, FileShare.None, 1 << 16);
                var stem = s;
                _mp3[s] = new Mp3Writer(_mp3Files[s]!, mp3, listener is null ? null : bytes => listener.Encoded(stem, bytes, _samplesIn[stem]));
                _queues[s] = Channel.CreateBounded<Block>(new BoundedChannelOptions(QueuedBlocks) { SingleReader = true, SingleWriter = true });
            }
            var threads = Math.Clamp(encoderThreads > 0 ? encoderThreads : DefaultEncoderThreads, 1, Stems.Count);
            _encoders = Enumerable.Range(0, threads)
                .Select(t => Task.Factory.StartNew(() => Encode(t, threads), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default))
                .ToArray();
            // One encoder thread (2-3 CPUs) would encode the four first seconds one after another while a listener waits:
            // it takes the first half, the separating thread the second.
            if (listener is not null && threads == 1) _encodedByTheEncodersFirst = Stems.Count / 2;
        }
        catch
        {
            Release(keepFiles: false);
            throw;
        }
    }

    /// <summary>
    /// One LAME thread per two CPUs, one to four, shared out among the songs separated at once: on a 2-CPU machine one
    /// thread for a song, taking what the model leaves idle (docs/benchmarks.md, "MP3 while separating"); with more CPUs (or a GPU
    /// doing the separation) more of them keep up.
    /// </summary>
    public static int EncoderThreadsFor(int songsInParallel) => Math.Clamp(Environment.ProcessorCount / 2 / Math.Max(1, songsInParallel), 1, Stems.Count);

    /// <summary><see cref="EncoderThreadsFor"/> one song at a time.</summary>
    public static int DefaultEncoderThreads => EncoderThreadsFor(1);

    public string Directory { get; }

    public IReadOnlyList<string> Formats { get; }

    /// <summary>How long the separator waited for the encoders: in <see cref="Write"/> on full queues, and in <see cref="CompleteAsync"/>.</summary>
    public TimeSpan WaitedForEncoders => TimeSpan.FromTicks(Interlocked.Read(ref _waitTicks));

    /// <summary>DIR/&lt;track&gt;.&lt;format&gt;, complete once <see cref="CompleteAsync"/> has returned.</summary>
    public string PathOf(string track, string format) => Path.Combine(Directory, $"{track}.{format}");

    public void Write(StemFrames frames)
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _wav?.Write(frames);
        if (_mp3[0] is null) return;
        // In blocks of at most BlockFrames, so that the queues' bound is one of memory whatever the separator hands on.
        var before = _written;
        for (var at = 0; at < frames.Length;)
        {
            var first = _listener is not null && _written == 0;
            var n = Math.Min(first ? FirstBlockFrames : BlockFrames, frames.Length - at);
            for (var s = 0; s < Stems.Count; s++)
            {
                if (first && s >= _encodedByTheEncodersFirst)
                {
                    // The first second of a stem whose encoder thread has others to do: this thread would only wait for
                    // it, so it encodes it here, before any later block of the stem is queued to its thread.
                    try
                    {
                        _samplesIn[s] += n;
                        _mp3[s]!.Write(frames.Channel(s, 0).Slice(at, n), frames.Channel(s, 1).Slice(at, n));
                    }
                    catch (Exception e)
                    {
                        Fail(e);
                        ThrowEncoderFailure();
                        throw;
                    }
                    continue;
                }
                Queue(s, Block.Copy(frames.Channel(s, 0).Slice(at, n), frames.Channel(s, 1).Slice(at, n)));
            }
            at += n;
            _written += n;
        }
        // The song's first second is queued: let the encoders and the store hand it to the listeners before the model
        // runs again and takes the CPUs (a moment, once per song; never longer than FirstAudioWait).
        if (_listener is not null && before < FirstBlockFrames && _written >= FirstBlockFrames)
            _listener.FirstAudioOut.Wait(FirstAudioWait);
    }

    /// <summary>
    /// Queues a mark behind each stem's last block, so that the listener is told (<see cref="IMp3StemListener.SegmentEnded"/>)
    /// once the stem is encoded up to here.
    /// </summary>
    public void SegmentEnded()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        if (_listener is null || _mp3[0] is null) return;
        for (var s = 0; s < Stems.Count; s++) Queue(s, Block.SegmentEnd);
    }

    /// <summary>
    /// Waits for the encoders to finish every block written, then completes and closes the files (the MP3s' LAME tags)
    /// and gives them their names. Called again, it returns the same outcome.
    /// </summary>
    public Task CompleteAsync() => _completion ??= Complete();

    public async ValueTask DisposeAsync()
    {
        var completed = _completion is { IsCompletedSuccessfully: true };
        _abandoned = !completed;
        _closed = true;
        foreach (var queue in _queues) queue?.Writer.TryComplete();
        // Abandoned (the song failed or was cancelled): the encoders drop what is queued and stop. An encoder's failure
        // was the song's, thrown from Write or CompleteAsync; here only the files go.
        await Settled(Task.WhenAll(_encoders));
        Release(keepFiles: completed);
    }

    private async Task Complete()
    {
        ObjectDisposedException.ThrowIf(_closed, this);
        _closed = true;
        _wav?.Complete();
        foreach (var queue in _queues) queue?.Writer.TryComplete();
        var waiting = Stopwatch.GetTimestamp();
        await Settled(Task.WhenAll(_encoders));
        Interlocked.Add(ref _waitTicks, Stopwatch.GetElapsedTime(waiting).Ticks);
        ThrowEncoderFailure();
        for (var s = 0; s < Stems.Count; s++)
        {
            if (_mp3[s] is not { } writer) continue;
            writer.Complete();
            writer.Dispose();
            _mp3Files[s]!.Dispose(); // closed, so the caller may read and store it
            File.Move(PartialPath(s), PathOf(s, "mp3"), overwrite: true);
        }
    }

    private void Queue(int stem, Block block)
    {
        if (_queues[stem].Writer.TryWrite(block)) return;
        var waiting = Stopwatch.GetTimestamp();
        try
        {
            // Full: the encoders are behind. Wait for room (or for an encoder that failed, which completed the queue).
            _queues[stem].Writer.WriteAsync(block).AsTask().GetAwaiter().GetResult();
        }
        catch (ChannelClosedException)
        {
            block.Return();
            ThrowEncoderFailure();
            throw new InvalidOperationException("the sink was closed while the separator still wrote to it");
        }
        finally
        {
            Interlocked.Add(ref _waitTicks, Stopwatch.GetElapsedTime(waiting).Ticks);
        }
    }

    // Every writer and file goes, whatever fails on the way: a flush that fails on a full disk must not keep a LAME
    // handle open or hide the song's own failure. MP3s never completed are deleted.
    private void Release(bool keepFiles)
    {
        Quietly(() => _wav?.Dispose());
        for (var s = 0; s < Stems.Count; s++)
        {
            var stem = s;
            Quietly(() => _mp3[stem]?.Dispose());
            Quietly(() => _mp3Files[stem]?.Dispose());
            if (!keepFiles && _mp3Files[stem] is not null) Quietly(() => File.Delete(PartialPath(stem)));
            while (_queues[s]?.Reader.TryRead(out var left) == true) left.Return();
        }
    }

    // Waits for the task without throwing its failure (kept in _failure), and marks that failure observed.
    private static Task<AggregateException?> Settled(Task task) => task.ContinueWith(t => t.Exception, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

    private static void Quietly(Action release)
    {
        try
        {
            release();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ObjectDisposedException)
        {
        }
    }

    private string PathOf(int stem, string format) => PathOf(Stems.Names[stem], format);

    private string PartialPath(int stem) => PathOf(stem, "mp3") + ".partial";

    // Encoder thread t of n owns stems t, t + n, ...: the separator queues each block to every stem in turn, and the
    // thread takes them in the same order. Every queue is completed at once, so the first one found completed ends it.
    private void Encode(int thread, int threads)
    {
        var stems = Enumerable.Range(0, Stems.Count).Where(s => s % threads == thread).ToArray();
        try
        {
            while (true)
            {
                foreach (var s in stems)
                {
                    var reader = _queues[s].Reader;
                    Block block;
                    while (!reader.TryRead(out block))
                        if (!reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult()) return;
                    try
                    {
                        if (_abandoned) continue;
                        if (block.IsSegmentEnd)
                        {
                            _listener!.SegmentEnded(s, _samplesIn[s]);
                            continue;
                        }
                        _samplesIn[s] += block.Left.Length;
                        _mp3[s]!.Write(block.Left, block.Right);
                    }
                    finally
                    {
                        block.Return();
                    }
                }
            }
        }
        catch (Exception e)
        {
            Fail(e);
            throw;
        }
    }

    // Stops everything at once: the encoders drop their blocks, and the separator finds the queues closed and throws
    // this failure (the first one, whichever thread met it).
    private void Fail(Exception e)
    {
        Interlocked.CompareExchange(ref _failure, e, null);
        _abandoned = true;
        foreach (var queue in _queues) queue.Writer.TryComplete();
    }

    // A disk error is the disk's (retried like any other); anything else from LAME is the encoder's.
    private void ThrowEncoderFailure()
    {
        switch (_failure)
        {
            case null: return;
            case IOException or UnauthorizedAccessException: ExceptionDispatchInfo.Throw(_failure); break;
            case EncodingException: ExceptionDispatchInfo.Throw(_failure); break;
            default: throw new EncodingException($"encoding the stems to MP3 failed: {_failure.Message}", _failure);
        }
    }

    /// <summary>One stem's samples for one block, in arrays from the shared pool; or the mark where a segment ended.</summary>
    private readonly struct Block
    {
        private readonly float[]? _left;
        private readonly float[]? _right;
        private readonly int _length;

        private Block(float[] left, float[] right, int length) => (_left, _right, _length) = (left, right, length);

        /// <summary>The mark where a segment ended: a block with no samples (the default one).</summary>
        public static Block SegmentEnd => default;

        public bool IsSegmentEnd => _left is null;

        public ReadOnlySpan<float> Left => _left.AsSpan(0, _length);

        public ReadOnlySpan<float> Right => _right.AsSpan(0, _length);

        public static Block Copy(ReadOnlySpan<float> left, ReadOnlySpan<float> right)
        {
            var l = ArrayPool<float>.Shared.Rent(left.Length);
            var r = ArrayPool<float>.Shared.Rent(right.Length);
            left.CopyTo(l);
            right.CopyTo(r);
            return new Block(l, r, left.Length);
        }

        public void Return()
        {
            if (IsSegmentEnd) return;
            ArrayPool<float>.Shared.Return(_left!);
            ArrayPool<float>.Shared.Return(_right!);
        }
    }
}
