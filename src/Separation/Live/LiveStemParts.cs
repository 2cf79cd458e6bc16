using System.Buffers;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;
using MSaaS.Storage;

namespace MSaaS.Separation.Live;

/// <summary>
/// Stores each stem's MP3, as LAME writes it while the song is separated, in parts (<see cref="SongObjects.LivePart"/>)
/// that the api streams to listeners before the song is finished. The first part of a stem goes as soon as it holds
/// <see cref="FirstPartSeconds"/> of audio; each later one once it holds at least as much audio as all the parts before
/// it, or <see cref="PartSeconds"/> (at the end of the block that reaches it), and at the latest where a segment of the
/// separator's ends (<see cref="SegmentEnded"/>: nothing more comes until the model has run again). A player started on
/// the first part has as long as that part plays to get the next, and the encoders and the store handle a part faster
/// than it plays: parts about as long as the audio before them keep up with the player from the first second on, where
/// a whole <see cref="PartSeconds"/> after one second would not. Every stem is cut at the same samples, so the four
/// stems' parts line up. The bytes after the last part are only in the complete stem, where a listener reads on from the
/// same offset. Each stem's parts are stored in order,
/// the four stems side by side (the first second of every stem is one store's round trip away, not four), off the
/// encoder threads; <paramref name="stored"/> is told the seconds every stem's stored parts cover and how many parts of
/// every stem are stored, each time that grows, one telling at a time.
/// Live listening is a bonus: a part that cannot be stored stops the parts (logged), never the song.
/// </summary>
public sealed class LiveStemParts : IMp3StemListener, IAsyncDisposable
{
    public const double FirstPartSeconds = 1;
    public const double PartSeconds = 4;

    // What LAME holds back: its delay (576 + 529 samples) and up to a frame of 1152 not yet written.
    private const int LameLagSamples = 576 + 529 + 1152;

    private readonly IObjectStore _store;
    private readonly string _songHash;
    private readonly Guid _run;
    private readonly Func<double, int, Task> _stored;
    private readonly ILogger _logger;
    private readonly ArrayBufferWriter<byte>[] _pending = [.. Enumerable.Range(0, Stems.Count).Select(_ => new ArrayBufferWriter<byte>())];
    private readonly long[] _cutAt = new long[Stems.Count];
    private readonly int[] _parts = new int[Stems.Count];
    private readonly long[] _storedSamples = new long[Stems.Count];
    private readonly int[] _storedParts = new int[Stems.Count];
    private readonly Channel<Part>[] _uploads = [.. Enumerable.Range(0, Stems.Count)
        .Select(_ => Channel.CreateUnbounded<Part>(new UnboundedChannelOptions { SingleReader = true }))];
    private readonly CancellationTokenSource _stop = new();
    private readonly SemaphoreSlim _telling = new(1, 1);
    private readonly Task _uploading;
    private readonly TaskCompletionSource _firstOut = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _reportedParts;

    /// <param name="run">This separation's own name for its parts (<see cref="SongObjects.LivePart"/>).</param>
    public LiveStemParts(IObjectStore store, string songHash, Guid run, Func<double, int, Task> stored, ILogger logger)
    {
        (_store, _songHash, _run, _stored, _logger) = (store, songHash, run, stored, logger);
        _uploading = Task.WhenAll(_uploads.Select(stem => Task.Run(() => UploadAsync(stem.Reader))));
    }

    public void Encoded(int stem, ReadOnlySpan<byte> mp3, long samplesIn)
    {
        if (_stop.IsCancellationRequested) return;
        _pending[stem].Write(mp3);
        // Told after each block the sink queued that LAME wrote frames for. Every block but a Write's last (which may be
        // short) gives every stem frames; a stem that a short one skipped is cut by the segment's end that follows, at
        // the same samples as the others.
        var due = Math.Clamp(_cutAt[stem], (long)(FirstPartSeconds * Stems.SampleRate), (long)(PartSeconds * Stems.SampleRate));
        if (samplesIn - _cutAt[stem] >= due) Cut(stem, samplesIn);
    }

    public void SegmentEnded(int stem, long samplesIn)
    {
        // By samples, not by the bytes pending, which LAME may not have written yet: the same for every stem.
        if (!_stop.IsCancellationRequested && samplesIn > _cutAt[stem]) Cut(stem, samplesIn);
    }

    // A part may be empty (a segment's end with no frame written since the last part): cut all the same, so that every
    // stem has as many parts.
    private void Cut(int stem, long samplesIn)
    {
        // A part is 30-160 KB, most of it on the large object heap if allocated each time: lent from the pool instead.
        var written = _pending[stem].WrittenSpan;
        var bytes = ArrayPool<byte>.Shared.Rent(written.Length);
        written.CopyTo(bytes);
        if (!_uploads[stem].Writer.TryWrite(new Part(stem, _parts[stem]++, bytes, written.Length, samplesIn))) ArrayPool<byte>.Shared.Return(bytes);
        _pending[stem].ResetWrittenCount();
        _cutAt[stem] = samplesIn;
    }

    /// <summary>Completes once every stem's first part is stored and told of (or the parts stopped).</summary>
    public Task FirstAudioOut => _firstOut.Task;

    /// <summary>Waits for the parts cut so far to be stored (those that can be).</summary>
    public async Task FlushAsync()
    {
        foreach (var stem in _uploads) stem.Writer.TryComplete();
        try
        {
            await _uploading;
        }
        finally
        {
            _firstOut.TrySetResult();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var stem in _uploads) stem.Writer.TryComplete();
        await _stop.CancelAsync();
        try
        {
            await _uploading;
        }
        finally
        {
            _firstOut.TrySetResult();
            _stop.Dispose();
            _telling.Dispose();
        }
    }

    // One stem's parts, in order.
    private async Task UploadAsync(ChannelReader<Part> parts)
    {
        await foreach (var part in parts.ReadAllAsync())
        {
            try
            {
                if (_stop.IsCancellationRequested) continue;
                using var content = new MemoryStream(part.Bytes, 0, part.Length, writable: false);
                await _store.PutAsync(SongObjects.LivePart(_songHash, _run, Stems.Names[part.Stem], part.Index), content,
                    SongObjects.Mp3ContentType, _stop.Token);
                await TellAsync(part);
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
            catch (Exception e)
            {
                // Listeners wait for the complete stems instead; the song goes on (or was cancelled while a telling
                // went out: every stem stops all the same).
                _logger.LogWarning("live parts of {SongHash} stopped: {Reason}", _songHash, e.Message);
                await _stop.CancelAsync();
                _firstOut.TrySetResult();
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(part.Bytes);
            }
        }
    }

    // What every stem has stored, told when it grows; the stems' uploads wait here in turn, so what is told only grows.
    private async Task TellAsync(Part part)
    {
        await _telling.WaitAsync();
        try
        {
            (_storedSamples[part.Stem], _storedParts[part.Stem]) = (part.SamplesIn, part.Index + 1);
            if (_storedParts.Min() > _reportedParts)
            {
                _reportedParts = _storedParts.Min();
                await _stored(Math.Max(0, _storedSamples.Min() - LameLagSamples) / (double)Stems.SampleRate, _reportedParts);
            }
            if (Array.TrueForAll(_storedSamples, samples => samples > 0)) _firstOut.TrySetResult();
        }
        finally
        {
            _telling.Release();
        }
    }

    private sealed record Part(int Stem, int Index, byte[] Bytes, int Length, long SamplesIn);
}
