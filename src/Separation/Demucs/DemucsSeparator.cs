using MSaaS.Audio;

namespace MSaaS.Separation.Demucs;

/// <summary>htdemucs over whole songs: normalisation, shifts and segmenting around one model instance.</summary>
public sealed class DemucsSeparator : IStemSeparator, IDisposable
{
    private const int Planes = Stems.Count * Stems.Channels;
    private const int BlockLength = 1 << 16;

    private readonly ISegmentModel _model;
    private readonly SegmentedPass _pass;
    private readonly SemaphoreSlim _exclusive = new(1, 1);

    internal DemucsSeparator(ISegmentModel model)
    {
        _model = model;
        _pass = new SegmentedPass(model);
    }

    /// <summary>Verifies the model file and opens it on ONNX Runtime; throws a clear error when either is wrong.</summary>
    public static DemucsSeparator Open(SeparationEngineOptions options)
    {
        ModelFile.Verify(options.ResolvedModelPath, options.ExpectedSha256);
        return new DemucsSeparator(HtDemucsModel.Open(options.ResolvedModelPath, options.Session, options.ReleaseMemoryAfterSong));
    }

    /// <summary>Time inside ONNX Runtime and time in the DSP around it, since this separator was opened.</summary>
    public (TimeSpan Inference, TimeSpan Dsp) Timings =>
        _model is HtDemucsModel m ? (m.InferenceTime, m.DspTime) : (TimeSpan.Zero, TimeSpan.Zero);

    /// <summary>Wall time of every model segment run since this separator was opened, in order (warm-up runs first).</summary>
    public IReadOnlyList<TimeSpan> SegmentTimes => _model is HtDemucsModel m ? m.SegmentTimes : [];

    /// <summary>How many of <see cref="SegmentTimes"/> were <see cref="WarmUp"/>'s, not a song's.</summary>
    public int WarmUpRuns { get; private set; }

    /// <summary>Wall time <see cref="WarmUp"/> took.</summary>
    public TimeSpan WarmUpTime { get; private set; }

    /// <summary>
    /// Runs the model once on a silent segment, so that the first song's first segment costs what every later one
    /// does (see <see cref="HtDemucsModel.Run"/>: the first runs of a fresh process pay for memory the C heap and ONNX
    /// Runtime fault in). A worker calls it when it loads the model; a one-song command need not.
    /// </summary>
    public void WarmUp(CancellationToken cancellationToken = default)
    {
        _exclusive.Wait(cancellationToken);
        try
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            for (var c = 0; c < Stems.Channels; c++) _model.Input(c).Clear();
            if (_model is HtDemucsModel warming) warming.WarmingUp = true;
            try
            {
                _model.Run(lastOfSong: false, cancellationToken);
            }
            finally
            {
                if (_model is HtDemucsModel warmed) warmed.WarmingUp = false;
            }
            WarmUpRuns++;
            WarmUpTime += System.Diagnostics.Stopwatch.GetElapsedTime(started);
        }
        finally
        {
            _exclusive.Release();
        }
    }

    public string Description => _model is HtDemucsModel m ? m.Description : _model.GetType().Name;

    public async Task SeparateAsync(AudioBuffer mix, IStemSink sink, SeparationOptions options,
        IProgress<SeparationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        options.Validate();
        if (mix.SampleRate != Stems.SampleRate)
            throw new ArgumentException($"the model needs {Stems.SampleRate} Hz audio, got {mix.SampleRate} Hz (decode with resampling)", nameof(mix));
        if (mix.ChannelCount is < 1 or > 2)
            throw new ArgumentException($"mono or stereo audio is needed, got {mix.ChannelCount} channels", nameof(mix));
        if (mix.Length == 0) throw new ArgumentException("the audio has no samples", nameof(mix));

        await _exclusive.WaitAsync(cancellationToken);
        try
        {
            await Task.Factory.StartNew(() => Separate(mix, sink, options, progress, cancellationToken),
                cancellationToken, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        }
        finally
        {
            NativeHeap.Trim();
            _exclusive.Release();
        }
    }

    public void Dispose()
    {
        (_model as IDisposable)?.Dispose();
        _exclusive.Dispose();
    }

    private void Separate(AudioBuffer mix, IStemSink sink, SeparationOptions options,
        IProgress<SeparationProgress>? progress, CancellationToken cancellationToken)
    {
        var track = Enumerable.Range(0, mix.ChannelCount).Select(mix.Channel).ToArray();
        var (mean, std) = options.Normalize ? MonoStatistics(track) : (0f, 1f);
        var delays = ShiftDelays(options);
        var total = delays.Sum(d => SegmentedPass.SegmentCount(mix.Length + d, _model.SegmentLength, options.Overlap));
        var done = 0;
        progress?.Report(new SeparationProgress(0, total));
        void SegmentDone() => progress?.Report(new SeparationProgress(++done, total));

        var output = new StemOutput(sink, mean, std);
        if (delays.Length == 1)
        {
            _pass.Run(track, 0, mix.Length, options.Overlap, mean, 1 / std, lastPass: true,
                (planes, count, position) => output.Write(planes, 0, count, 1f), SegmentDone, cancellationToken);
            return;
        }

        // Averaging passes at different offsets needs every stem whole until the last pass.
        var average = new float[Planes][];
        for (var p = 0; p < Planes; p++) average[p] = new float[mix.Length];
        foreach (var (pass, delay) in delays.Index())
        {
            _pass.Run(track, delay, mix.Length + delay, options.Overlap, mean, 1 / std, lastPass: pass == delays.Length - 1, (planes, count, position) =>
            {
                // View position v is track position v - delay; the first `delay` samples precede the track.
                var skip = (int)Math.Clamp(delay - position, 0, count);
                if (skip == count) return;
                for (var p = 0; p < Planes; p++)
                {
                    var source = planes[p].AsSpan(skip, count - skip);
                    var target = average[p].AsSpan((int)(position + skip - delay), count - skip);
                    for (var i = 0; i < source.Length; i++) target[i] += source[i];
                }
            }, SegmentDone, cancellationToken);
        }
        for (var start = 0; start < mix.Length; start += BlockLength)
            output.Write(average, start, Math.Min(BlockLength, mix.Length - start), 1f / delays.Length);
    }

    // demucs: max_shift = 0.5 s; each pass starts at a random offset in [0, max_shift] of the zero-padded track.
    private static int[] ShiftDelays(SeparationOptions options)
    {
        if (options.Shifts == 1) return [0];
        const int maxShift = Stems.SampleRate / 2;
        var random = new Random(options.Seed);
        return Enumerable.Range(0, options.Shifts).Select(_ => maxShift - random.Next(0, maxShift + 1)).ToArray();
    }

    // Mean and standard deviation (unbiased, as torch.std) of the mono mix; 1e-8 keeps digital silence finite.
    private static (float Mean, float Std) MonoStatistics(float[][] track)
    {
        var left = track[0];
        var right = track[^1];
        double sum = 0;
        for (var i = 0; i < left.Length; i++) sum += 0.5 * (left[i] + right[i]);
        var mean = sum / left.Length;
        double squares = 0;
        for (var i = 0; i < left.Length; i++)
        {
            var d = 0.5 * (left[i] + right[i]) - mean;
            squares += d * d;
        }
        var std = left.Length > 1 ? Math.Sqrt(squares / (left.Length - 1)) : 0;
        return ((float)mean, (float)(std + 1e-8));
    }

    /// <summary>Undoes the normalisation (and the averaging of shifts) on the way to the sink.</summary>
    private sealed class StemOutput(IStemSink sink, float mean, float std)
    {
        private readonly float[][] _scratch = Enumerable.Range(0, Planes).Select(_ => new float[BlockLength]).ToArray();

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
