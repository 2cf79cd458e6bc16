using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// A model run as consecutive ONNX Runtime sessions ("stages"), each over one part of its graph, with the values
/// that cross a cut handed from one stage to the next (the cut itself: <see cref="OnnxStageCut"/>; the stage files:
/// <see cref="StagedModelCache"/>). A model that is not cut is one stage.
/// </summary>
/// <remarks>
/// Why: within one session, ONNX Runtime's allocation planner lets a later value reuse a dead value's buffer only
/// when the two are the same size, and keeps every such buffer from its first value to its last. In an encoder /
/// decoder network the decoder's shapes mirror the encoder's, so almost every encoder buffer is held through the
/// whole network for the decoder to reuse: with htdemucs, 2.3 GB live where 0.6 GB would do. Sessions do not share
/// plans, so a cut between encoder, transformer and decoder frees each part's buffers when its stage ends.
/// </remarks>
public sealed class OrtStagedSession : IDisposable
{
    private readonly InferenceSession[] _stages;
    private readonly string[] _inputNames;
    private readonly string[] _outputNames;
    private readonly int[][] _inputSlots;
    private readonly int[][] _outputSlots;
    private readonly int[][] _releaseAfter;
    private readonly string[] _slotNames;
    private readonly int _fixedSlots;

    internal OrtStagedSession(InferenceSession[] stages, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs,
        IReadOnlyList<string> executionProviders)
    {
        _stages = stages;
        _inputNames = [.. inputs];
        _outputNames = [.. outputs];
        ExecutionProviders = executionProviders;
        var slotOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in inputs.Concat(outputs)) slotOf[name] = slotOf.Count;
        _fixedSlots = slotOf.Count;

        _inputSlots = new int[stages.Length][];
        _outputSlots = new int[stages.Length][];
        var lastUse = new Dictionary<int, int>();
        for (var s = 0; s < stages.Length; s++)
        {
            _inputSlots[s] = stages[s].InputNames.Select(name => slotOf.TryGetValue(name, out var slot) ? slot
                : throw new InvalidDataException($"stage {s} reads {name}, which no earlier stage produces")).ToArray();
            foreach (var slot in _inputSlots[s]) lastUse[slot] = s;
            _outputSlots[s] = stages[s].OutputNames.Select(name => slotOf.TryGetValue(name, out var slot) ? slot
                : slotOf[name] = slotOf.Count).ToArray();
        }
        _slotNames = new string[slotOf.Count];
        foreach (var (name, slot) in slotOf) _slotNames[slot] = name;
        _releaseAfter = Enumerable.Range(0, stages.Length)
            .Select(s => lastUse.Where(kv => kv.Key >= _fixedSlots && kv.Value == s).Select(kv => kv.Key).ToArray()).ToArray();

        var inputInfo = stages.SelectMany(s => s.InputMetadata).GroupBy(i => i.Key).ToDictionary(g => g.Key, g => g.First().Value);
        var outputInfo = stages.SelectMany(s => s.OutputMetadata).GroupBy(o => o.Key).ToDictionary(g => g.Key, g => g.First().Value);
        Inputs = inputs.Select(n => new KeyValuePair<string, NodeMetadata>(n, inputInfo[n])).ToArray();
        Outputs = outputs.Select(n => new KeyValuePair<string, NodeMetadata>(n, outputInfo.TryGetValue(n, out var info) ? info
            : throw new InvalidDataException($"no stage produces the output {n}"))).ToArray();
    }

    /// <summary>The whole model's inputs, in graph order, with their types and shapes.</summary>
    public IReadOnlyList<KeyValuePair<string, NodeMetadata>> Inputs { get; }

    /// <summary>The whole model's outputs, in graph order.</summary>
    public IReadOnlyList<KeyValuePair<string, NodeMetadata>> Outputs { get; }

    public int StageCount => _stages.Length;

    /// <summary>The execution providers the sessions run on, in preference order.</summary>
    public IReadOnlyList<string> ExecutionProviders { get; }

    /// <summary>
    /// Opens <paramref name="modelPath"/> cut as <paramref name="staging"/> says (the stages prepared on first use and
    /// cached under <paramref name="cacheDirectory"/>, by default the asset cache). It runs as one session, as it is,
    /// on CUDA (device memory is not what staging saves, and values crossing a cut would travel through the host),
    /// without <paramref name="staging"/>, or when <see cref="StagedModelCache"/> cannot cut or keep it. An int8 model
    /// is always prepared (quantized) through the cache, cut or whole, and refused on CUDA.
    /// </summary>
    public static OrtStagedSession Open(string modelPath, OrtSessionOptions settings, OrtStaging? staging, string? cacheDirectory = null)
    {
        if (settings.Precision == OrtPrecision.Int8)
        {
            if (settings.UseCuda)
                throw new SeparationException("int8 runs on the CPU only (ONNX Runtime has no CUDA kernel for DynamicQuantizeMatMul); use fp32 with CUDA");
            return StagedModelCache.Open(modelPath, settings, staging ?? StagedModelCache.Whole, cacheDirectory ?? AssetPaths.CacheDirectory)
                ?? throw new InvalidOperationException("an int8 model was not prepared");
        }
        if (staging is not null && !settings.UseCuda &&
            StagedModelCache.Open(modelPath, settings, staging, cacheDirectory ?? AssetPaths.CacheDirectory) is { } staged)
            return staged;
        var session = OrtSessions.Open(modelPath, settings);
        return new OrtStagedSession([session], session.InputNames, session.OutputNames, OrtSessions.Providers(settings));
    }

    /// <summary>
    /// Whether <see cref="Open"/> with these arguments would first prepare the model (seconds, once per model, runtime,
    /// cut and precision): its stages are not in the cache yet. False where nothing is prepared (CUDA, fp32 unstaged) or
    /// the model file is not there (opening it says so).
    /// </summary>
    public static bool WillPrepare(string modelPath, OrtSessionOptions settings, OrtStaging? staging, string? cacheDirectory = null)
    {
        if (settings.UseCuda || (staging is null && settings.Precision != OrtPrecision.Int8) || !File.Exists(modelPath)) return false;
        // An int8 model the cut does not divide is prepared whole: either directory may hold it.
        OrtStaging[] cuts = settings.Precision == OrtPrecision.Int8 ? [staging ?? StagedModelCache.Whole, StagedModelCache.Whole] : [staging!];
        return !cuts.Any(cut => File.Exists(Path.Combine(StagedModelCache.PreparedDirectory(cacheDirectory ?? AssetPaths.CacheDirectory, modelPath,
            cut, OrtRuntime.Version, settings.Precision), StagedModelCache.ManifestName)));
    }

    /// <summary>
    /// Runs every stage in turn; <paramref name="inputs"/> and <paramref name="outputs"/> (tensors over the caller's
    /// buffers) in the model's graph order, the results written into the outputs. Values that cross a cut are
    /// allocated by ONNX Runtime (from the shared arena) and released after the last stage that reads them.
    /// <paramref name="lastStageOptions"/>, when given, replaces <paramref name="options"/> for the last stage: run
    /// options such as <c>memory.enable_memory_arena_shrinkage</c> act at the end of every run they are given to, and
    /// the arena shrunk after each stage is faulted in afresh by the next (measured: 244,000 page faults and twice
    /// the time of a segment when the shrinking options went to all seven stages).
    /// </summary>
    public void Run(IReadOnlyList<OrtValue> inputs, IReadOnlyList<OrtValue> outputs, RunOptions options, RunOptions? lastStageOptions = null)
    {
        if (inputs.Count != _inputNames.Length || outputs.Count != _outputNames.Length)
            throw new ArgumentException($"the model takes {_inputNames.Length} inputs and {_outputNames.Length} outputs");
        if (_stages.Length == 1)
        {
            _stages[0].Run(lastStageOptions ?? options, _inputNames, inputs, _outputNames, outputs);
            return;
        }

        var values = new OrtValue?[_slotNames.Length];
        for (var i = 0; i < inputs.Count; i++) values[i] = inputs[i];
        for (var i = 0; i < outputs.Count; i++) values[inputs.Count + i] = outputs[i];
        try
        {
            for (var s = 0; s < _stages.Length; s++)
            {
                RunStage(s, values, s == _stages.Length - 1 ? lastStageOptions ?? options : options);
                foreach (var slot in _releaseAfter[s]) Release(values, slot);
            }
        }
        finally
        {
            for (var slot = _fixedSlots; slot < values.Length; slot++) Release(values, slot);
        }
    }

    public void Dispose()
    {
        foreach (var stage in _stages) stage.Dispose();
    }

    // The stage's outputs that are the model's go straight into the caller's tensors; the others are left to
    // ONNX Runtime to allocate, and kept in their slots for the stages that read them.
    private void RunStage(int s, OrtValue?[] values, RunOptions options)
    {
        using var binding = _stages[s].CreateIoBinding();
        foreach (var slot in _inputSlots[s]) binding.BindInput(_slotNames[slot], values[slot]!);
        foreach (var slot in _outputSlots[s])
        {
            if (slot < _fixedSlots) binding.BindOutput(_slotNames[slot], values[slot]!);
            else binding.BindOutputToDevice(_slotNames[slot], OrtMemoryInfo.DefaultInstance);
        }
        var results = _stages[s].RunWithBoundResults(options, binding);
        for (var o = 0; o < _outputSlots[s].Length; o++)
        {
            var slot = _outputSlots[s][o];
            if (slot < _fixedSlots) results[o].Dispose(); // a second handle on the caller's tensor
            else values[slot] = results[o];
        }
    }

    private static void Release(OrtValue?[] values, int slot)
    {
        values[slot]?.Dispose();
        values[slot] = null;
    }
}

/// <summary>How to cut a model into stages: a name for the cut (part of the cache key) and each node's earliest stage by its name.</summary>
public sealed record OrtStaging(string Name, Func<string, int> StageOf);
