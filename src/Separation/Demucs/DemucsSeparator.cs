using MSaaS.Audio;

namespace MSaaS.Separation.Demucs;

/// <summary>
/// htdemucs over whole songs: normalisation, shifts and segmenting around a pool of model instances, one per song
/// separated at once (Separation:SongsInParallel; one by default).
/// </summary>
public sealed class DemucsSeparator : IStemSeparator, IDisposable
{
    private const int Planes = Stems.Count * Stems.Channels;
    private const int BlockLength = 1 << 16;

    private readonly ModelPool _pool;

    internal DemucsSeparator(ISegmentModel model) : this([model])
    {
    }

    internal DemucsSeparator(IReadOnlyList<ISegmentModel> models) => _pool = new ModelPool(models);

    /// <summary>
    /// Whether <see cref="Open"/> with <paramref name="options"/> would first prepare the model for this machine (its
    /// stages or its int8 weights are not in the cache yet: seconds, once).
    /// </summary>
    public static bool WillPrepare(SeparationEngineOptions options) => HtDemucsModel.WillPrepare(options.ResolvedModelPath, options.Session);

    /// <summary>
    /// Verifies the model file and prepares it for this machine as <see cref="Open"/> would, then lets it go: what a
    /// worker's first start would otherwise do, done ahead. False where there was nothing to prepare.
    /// </summary>
    public static bool Prepare(SeparationEngineOptions options)
    {
        ModelFile.Verify(options.ResolvedModelPath, options.ExpectedSha256);
        return HtDemucsModel.Prepare(options.ResolvedModelPath, options.Session);
    }

    /// <summary>
    /// Verifies the model file and opens it on ONNX Runtime once per song separated at once; throws a clear error
    /// when either is wrong. Every instance has its own sessions and tensors; all allocate from the process's one
    /// shared CPU arena (see <see cref="Onnx.OrtRuntime.EnsureSharedCpuArena"/>), which is safe to use from concurrent runs.
    /// </summary>
    public static DemucsSeparator Open(SeparationEngineOptions options)
    {
        ModelFile.Verify(options.ResolvedModelPath, options.ExpectedSha256);
        var models = new List<HtDemucsModel>();
        try
        {
            // One after another: the first prepares the model's stages on disk (StagedModelCache), the others reuse them.
            for (var i = 0; i < options.SongsInParallel; i++)
                models.Add(HtDemucsModel.Open(options.ResolvedModelPath, options.Session, options.ReleaseMemoryAfterSong));
            return new DemucsSeparator(models);
        }
        catch
        {
            foreach (var model in models) model.Dispose();
            throw;
        }
    }

    /// <summary>How many songs this separator runs at once: its model instances.</summary>
    public int SongsInParallel => _pool.All.Count;

    /// <summary>Time inside ONNX Runtime and time in the DSP around it, since this separator was opened, summed over its instances.</summary>
    public (TimeSpan Inference, TimeSpan Dsp) Timings => _pool.All.Select(p => p.Model).OfType<HtDemucsModel>()
        .Aggregate((TimeSpan.Zero, TimeSpan.Zero), (sum, m) => (sum.Item1 + m.InferenceTime, sum.Item2 + m.DspTime));

    /// <summary>
    /// Wall time of every model segment run since this separator was opened: each instance's in order (its warm-up
    /// runs first, <see cref="WarmUpRuns"/> of them), one instance after another.
    /// </summary>
    public IReadOnlyList<TimeSpan> SegmentTimes => [.. _pool.All.Select(p => p.Model).OfType<HtDemucsModel>().SelectMany(m => m.SegmentTimes)];

    /// <summary>How many runs of each instance's <see cref="SegmentTimes"/> were <see cref="WarmUp"/>'s, not a song's.</summary>
    public int WarmUpRuns { get; private set; }

    /// <summary>Wall time <see cref="WarmUp"/> took.</summary>
    public TimeSpan WarmUpTime { get; private set; }

    /// <summary>
    /// Runs every model instance once on a silent segment, all at once, so that the first songs' first segments cost
    /// what every later one does (see <see cref="HtDemucsModel.Run"/>: the first runs of a fresh process pay for memory
    /// the C heap and ONNX Runtime fault in; run together, the instances grow the shared arena to what songs run
    /// together need). A worker calls it when it loads the model; a one-song command need not.
    /// </summary>
    public void WarmUp(CancellationToken cancellationToken = default)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        _pool.ForAll(pooled =>
        {
            var model = pooled.Model;
            for (var c = 0; c < Stems.Channels; c++) model.Input(c).Clear();
            if (model is HtDemucsModel warming) warming.WarmingUp = true;
            try
            {
                model.Run(lastOfSong: false, cancellationToken);
            }
            finally
            {
                if (model is HtDemucsModel warmed) warmed.WarmingUp = false;
            }
        }, cancellationToken);
        WarmUpRuns++;
        WarmUpTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
    }

    public string Description =>
        (_pool.All[0].Model is HtDemucsModel m ? m.Description : _pool.All[0].Model.GetType().Name) +
        (SongsInParallel > 1 ? $", {SongsInParallel} songs in parallel" : "");

    public async Task SeparateAsync(IAudioSource mix, IStemSink sink, SeparationOptions options,
        IProgress<SeparationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (mix.SampleRate != Stems.SampleRate)
            throw new ArgumentException($"the model needs {Stems.SampleRate} Hz audio, got {mix.SampleRate} Hz (decode with resampling)", nameof(mix));
        if (mix.ChannelCount is < 1 or > 2)
            throw new ArgumentException($"mono or stereo audio is needed, got {mix.ChannelCount} channels", nameof(mix));
        if (mix.Length == 0) throw new ArgumentException("the audio has no samples", nameof(mix));

        var pooled = await _pool.TakeAsync(cancellationToken);
        try
        {
            await Task.Factory.StartNew(() => Separate(pooled, mix, sink, options, progress, cancellationToken),
                cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            // Only once no song is in hand: a song still running would fault the trimmed pages in again.
            if (_pool.Return(pooled)) NativeHeap.Trim();
        }
    }

    public void Dispose() => _pool.Dispose();

    private static void Separate(PooledModel pooled, IAudioSource mix, IStemSink sink, SeparationOptions options,
        IProgress<SeparationProgress>? progress, CancellationToken cancellationToken)
    {
        var (model, segmented) = (pooled.Model, pooled.Pass);
        var (mean, std) = options.Normalize ? Normalisation(mix.MonoStatistics) : (0f, 1f);
        var delays = ShiftDelays(options);
        var total = delays.Sum(d => SegmentedPass.SegmentCount(mix.Length + d, model.SegmentLength, options.Overlap));
        var done = 0;
        progress?.Report(new SeparationProgress(0, total));
        void SegmentDone() => progress?.Report(new SeparationProgress(++done, total));

        var output = new StemOutput(sink, mean, std);
        if (delays.Length == 1)
        {
            segmented.Run(mix, 0, mix.Length, options.Overlap, mean, 1 / std, lastPass: true,
                (planes, count, position) =>
                {
                    output.Write(planes, 0, count, 1f);
                    sink.SegmentEnded();
                }, SegmentDone, cancellationToken);
            return;
        }

        // Averaging passes at different offsets needs every stem whole until the last pass: summed on disk.
        using var average = new StemSums(mix.Length, model.SegmentLength);
        foreach (var (pass, delay) in delays.Index())
        {
            segmented.Run(mix, delay, mix.Length + delay, options.Overlap, mean, 1 / std, lastPass: pass == delays.Length - 1, (planes, count, position) =>
            {
                // View position v is track position v - delay; the first `delay` samples precede the track.
                var skip = (int)Math.Clamp(delay - position, 0, count);
                if (skip < count) average.Add(planes, skip, count - skip, position + skip - delay);
            }, SegmentDone, cancellationToken);
        }
        var block = NewPlanes(BlockLength);
        for (long start = 0; start < mix.Length; start += BlockLength)
        {
            var n = (int)Math.Min(BlockLength, mix.Length - start);
            average.Read(start, block, n);
            output.Write(block, 0, n, 1f / delays.Length);
        }
        sink.SegmentEnded(); // the whole song is out
    }

    // demucs: max_shift = 0.5 s; each pass starts at a random offset in [0, max_shift] of the zero-padded track.
    private static int[] ShiftDelays(SeparationOptions options)
    {
        if (options.Shifts == 1) return [0];
        const int maxShift = Stems.SampleRate / 2;
        var random = new Random(options.Seed);
        return Enumerable.Range(0, options.Shifts).Select(_ => maxShift - random.Next(0, maxShift + 1)).ToArray();
    }

    // demucs' whole-track normalisation: by the mono mix's mean and standard deviation; 1e-8 keeps digital silence finite.
    private static (float Mean, float Std) Normalisation(MonoStatistics mono) =>
        ((float)mono.Mean, (float)(mono.StandardDeviation + 1e-8));

    private static float[][] NewPlanes(int length) => [.. Enumerable.Range(0, Planes).Select(_ => new float[length])];

    /// <summary>Undoes the normalisation (and the averaging of shifts) on the way to the sink.</summary>
    private sealed class StemOutput(IStemSink sink, float mean, float std)
    {
        private readonly float[][] _scratch = NewPlanes(BlockLength);

        public void Write(float[][] planes, int start, int count, float scale)
        {
            var gain = std * scale;
            if (gain == 1f && mean == 0f)
            {
                sink.Write(new StemFrames(planes, start, count));
                return;
            }
            for (var done = 0; done < count; done += BlockLength)
            {
                var n = Math.Min(BlockLength, count - done);
                for (var p = 0; p < Planes; p++)
                {
                    var source = planes[p].AsSpan(start + done, n);
                    var target = _scratch[p].AsSpan(0, n);
                    for (var i = 0; i < n; i++) target[i] = source[i] * gain + mean;
                }
                sink.Write(new StemFrames(_scratch, 0, n));
            }
        }
    }
}
