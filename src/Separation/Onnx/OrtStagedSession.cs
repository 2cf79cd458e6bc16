using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace MSaaS.Separation.Onnx;

/// <summary>How to cut a model into stages: a name for the cut (part of the cache key) and each node's earliest stage by its name.</summary>
public sealed record OrtStaging(string Name, Func<string, int> StageOf);

/// <summary>
/// A model run as consecutive ONNX Runtime sessions ("stages"), each over one part of its graph, with the values
/// that cross a cut handed from one stage to the next.
/// </summary>
/// <remarks>
/// Why: within one session, ONNX Runtime's allocation planner lets a later value reuse a dead value's buffer only
/// when the two are the same size, and keeps every such buffer from its first value to its last. In an encoder /
/// decoder network the decoder's shapes mirror the encoder's, so almost every encoder buffer is held through the
/// whole network for the decoder to reuse: with htdemucs, 2.3 GB live where 0.6 GB would do. Sessions do not share
/// plans, so a cut between encoder, transformer and decoder frees each part's buffers when its stage ends.
/// The cut is made once per model and runtime version, on the model after ONNX Runtime's basic optimisations
/// (so shape computations are folded to constants and only tensors cross a cut), and cached on disk.
/// </remarks>
public sealed class OrtStagedSession : IDisposable
{
    private const string ManifestName = "stages.json";
    private const int FormatVersion = 1;

    private readonly OrtSession[] _stages;
    private readonly int[][] _inputSlots;
    private readonly int[][] _outputSlots;
    private readonly int[][] _releaseAfter;
    private readonly int _slotCount;
    private readonly int _fixedSlots;

    private OrtStagedSession(OrtSession[] stages, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs)
    {
        _stages = stages;
        var slotOf = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var name in inputs.Concat(outputs)) slotOf[name] = slotOf.Count;
        _fixedSlots = slotOf.Count;

        _inputSlots = new int[stages.Length][];
        _outputSlots = new int[stages.Length][];
        var lastUse = new Dictionary<int, int>();
        for (var s = 0; s < stages.Length; s++)
        {
            _inputSlots[s] = stages[s].Inputs.Select(i => slotOf.TryGetValue(i.Name, out var slot) ? slot
                : throw new InvalidDataException($"stage {s} reads {i.Name}, which no earlier stage produces")).ToArray();
            foreach (var slot in _inputSlots[s]) lastUse[slot] = s;
            _outputSlots[s] = stages[s].Outputs.Select(o => slotOf.TryGetValue(o.Name, out var slot) ? slot
                : slotOf[o.Name] = slotOf.Count).ToArray();
        }
        _slotCount = slotOf.Count;
        _releaseAfter = Enumerable.Range(0, stages.Length)
            .Select(s => lastUse.Where(kv => kv.Key >= _fixedSlots && kv.Value == s).Select(kv => kv.Key).ToArray()).ToArray();

        var inputInfo = stages.SelectMany(s => s.Inputs).GroupBy(i => i.Name).ToDictionary(g => g.Key, g => g.First());
        var outputInfo = stages.SelectMany(s => s.Outputs).GroupBy(o => o.Name).ToDictionary(g => g.Key, g => g.First());
        Inputs = inputs.Select(n => inputInfo[n]).ToArray();
        Outputs = outputs.Select(n => outputInfo.TryGetValue(n, out var info) ? info
            : throw new InvalidDataException($"no stage produces the output {n}")).ToArray();
    }

    /// <summary>The whole model's inputs, in graph order.</summary>
    public IReadOnlyList<OrtTensorInfo> Inputs { get; }

    /// <summary>The whole model's outputs, in graph order.</summary>
    public IReadOnlyList<OrtTensorInfo> Outputs { get; }

    public int StageCount => _stages.Length;

    public string RuntimeVersion => _stages[0].RuntimeVersion;

    public IReadOnlyList<string> ExecutionProviders => _stages[0].ExecutionProviders;

    /// <summary>
    /// Opens <paramref name="modelPath"/> cut as <paramref name="staging"/> says, preparing the stages on first use and
    /// caching them under <paramref name="cacheDirectory"/> (default: the asset cache). The model runs as one session,
    /// as it is, with no staging, on CUDA (device memory is not what staging saves, and values crossing a cut would
    /// travel through the host), when the cut leaves one stage or cannot be made, or when no cache can be written.
    /// </summary>
    public static OrtStagedSession Open(string libraryPath, string modelPath, OrtSessionSettings settings, OrtStaging? staging,
        string? cacheDirectory = null)
    {
        if (staging is null || settings.UseCuda) return Single(libraryPath, modelPath, settings);

        var api = OrtApi.Load(libraryPath);
        var directory = PreparedDirectory(cacheDirectory ?? AssetPaths.CacheDirectory, modelPath, staging, api.RuntimeVersion);
        try
        {
            if (TryOpenPrepared(libraryPath, directory, settings) is { } prepared) return prepared;
        }
        catch (Exception e) when (e is OrtException or InvalidDataException or JsonException)
        {
            Discard(directory); // damaged: prepare it again
        }
        if (!Divides(modelPath, staging)) return Single(libraryPath, modelPath, settings);
        try
        {
            return Prepare(libraryPath, modelPath, directory, settings, staging);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return Single(libraryPath, modelPath, settings); // nowhere to keep the stages
        }
        catch (Exception e) when (e is OrtException or InvalidDataException or NotSupportedException)
        {
            // The optimised graph could not be cut into sessions that run (a model the cut was not made for).
            Discard(directory);
            return Single(libraryPath, modelPath, settings);
        }
        finally
        {
            // Preparing read two copies of the model into managed arrays; do not carry them into the first song.
            GC.Collect();
        }
    }

    /// <summary>The directory that holds the prepared stages once <see cref="Open"/> has made them.</summary>
    internal static string PreparedDirectory(string cacheDirectory, string modelPath, OrtStaging staging, string runtimeVersion)
    {
        var file = new FileInfo(modelPath);
        var identity = string.Create(CultureInfo.InvariantCulture,
            $"{file.FullName}\n{file.Length}\n{file.LastWriteTimeUtc.Ticks}\n{runtimeVersion}\n{staging.Name}\n{FormatVersion}");
        var key = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(identity)))[..16];
        return Path.Combine(cacheDirectory, "prepared", $"{Path.GetFileNameWithoutExtension(modelPath)}-{staging.Name}-{key}");
    }

    /// <summary>A float32 tensor usable as an input or a pre-allocated output.</summary>
    public OrtTensor CreateTensor(params long[] shape) => _stages[0].CreateTensor(shape);

    /// <summary>
    /// Runs every stage in turn; <paramref name="inputs"/> and <paramref name="outputs"/> in the model's graph order.
    /// With <paramref name="releaseArena"/>, the shared CPU arena returns its free memory to the system after each
    /// stage (for the last run before a pause: between runs the arena keeps it, so that no page is faulted in twice).
    /// </summary>
    public void Run(IReadOnlyList<OrtTensor> inputs, IReadOnlyList<OrtTensor> outputs, CancellationToken cancellationToken,
        bool releaseArena = false)
    {
        if (inputs.Count != Inputs.Count || outputs.Count != Outputs.Count)
            throw new ArgumentException($"the model takes {Inputs.Count} inputs and {Outputs.Count} outputs");
        if (_stages.Length == 1)
        {
            _stages[0].Run(inputs, outputs, cancellationToken, releaseArena);
            return;
        }

        var values = new nint[_slotCount];
        for (var i = 0; i < inputs.Count; i++) values[i] = inputs[i].Value.DangerousGetHandle();
        for (var i = 0; i < outputs.Count; i++) values[inputs.Count + i] = outputs[i].Value.DangerousGetHandle();
        try
        {
            for (var s = 0; s < _stages.Length; s++)
            {
                var stageInputs = Array.ConvertAll(_inputSlots[s], slot => values[slot]);
                var stageOutputs = Array.ConvertAll(_outputSlots[s], slot => slot < _fixedSlots ? values[slot] : 0);
                _stages[s].Run(stageInputs, stageOutputs, releaseArena, cancellationToken);
                for (var o = 0; o < stageOutputs.Length; o++)
                    if (_outputSlots[s][o] >= _fixedSlots) values[_outputSlots[s][o]] = stageOutputs[o];
                foreach (var slot in _releaseAfter[s]) Release(values, slot);
            }
        }
        finally
        {
            for (var slot = _fixedSlots; slot < _slotCount; slot++) Release(values, slot);
            GC.KeepAlive(inputs);
            GC.KeepAlive(outputs);
        }
    }

    public void Dispose()
    {
        foreach (var stage in _stages) stage.Dispose();
    }

    private void Release(nint[] values, int slot)
    {
        if (values[slot] == 0) return;
        _stages[0].ReleaseValue(values[slot]);
        values[slot] = 0;
    }

    private static OrtStagedSession Single(string libraryPath, string modelPath, OrtSessionSettings settings)
    {
        var session = OrtSession.Open(libraryPath, modelPath, settings);
        return new OrtStagedSession([session], session.Inputs.Select(i => i.Name).ToArray(), session.Outputs.Select(o => o.Name).ToArray());
    }

    // Whether the cut gives more than one stage; a file that cannot be read as ONNX is left to the runtime to refuse.
    private static bool Divides(string modelPath, OrtStaging staging)
    {
        try
        {
            return OnnxModelFile.Read(modelPath).Plan(staging.StageOf).Count > 1;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or OverflowException)
        {
            return false;
        }
    }

    private static OrtStagedSession? TryOpenPrepared(string libraryPath, string directory, OrtSessionSettings settings)
    {
        var manifestPath = Path.Combine(directory, ManifestName);
        if (!File.Exists(manifestPath)) return null;
        var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
        if (manifest is not { Stages.Count: > 0, Inputs: not null, Outputs: not null })
            throw new InvalidDataException($"{manifestPath} lists no stages");
        return OpenStages(manifest, file => OrtSession.Open(libraryPath, Path.Combine(directory, file), settings));
    }

    private static OrtStagedSession OpenStages(Manifest manifest, Func<string, OrtSession> open)
    {
        var stages = new List<OrtSession>();
        try
        {
            foreach (var file in manifest.Stages) stages.Add(open(file));
            return new OrtStagedSession([.. stages], manifest.Inputs, manifest.Outputs);
        }
        catch
        {
            foreach (var stage in stages) stage.Dispose();
            throw;
        }
    }

    // Optimises the model (basic level), cuts it and writes one model file per stage, then the manifest last, so
    // that a directory with a manifest is complete. Each stage's session is opened as its file is written (the
    // next stage declares its inputs with the types and shapes that session infers for its outputs) and kept.
    private static OrtStagedSession Prepare(string libraryPath, string modelPath, string directory, OrtSessionSettings settings,
        OrtStaging staging)
    {
        Directory.CreateDirectory(directory);
        var optimized = Path.Combine(directory, $"optimized-{Environment.ProcessId}.onnx");
        var sessions = new Dictionary<string, OrtSession>(StringComparer.Ordinal);
        try
        {
            OrtSession.SaveBasicOptimized(libraryPath, modelPath, optimized, settings);
            var model = OnnxModelFile.Read(optimized);
            var plan = model.Plan(staging.StageOf);
            var types = new Dictionary<string, OrtTensorInfo>(StringComparer.Ordinal);
            for (var s = 0; s < plan.Count; s++)
            {
                var file = $"stage{s}.onnx";
                var path = Path.Combine(directory, file);
                var partial = $"{path}.{Environment.ProcessId}.partial";
                using (var stream = File.Create(partial))
                    model.WriteStage(plan[s], name => types.TryGetValue(name, out var type) ? type
                        : throw new InvalidDataException($"stage {s} reads {name}, whose type no earlier stage reports"), stream);
                File.Move(partial, path, overwrite: true);
                var session = OrtSession.Open(libraryPath, path, settings);
                sessions[file] = session;
                foreach (var output in session.Outputs) types[output.Name] = output;
            }
            var manifest = new Manifest([.. sessions.Keys], model.Inputs, model.Outputs);
            var staged = OpenStages(manifest, file => sessions[file]);
            var manifestPath = Path.Combine(directory, ManifestName);
            File.WriteAllText(manifestPath + ".partial", JsonSerializer.Serialize(manifest));
            File.Move(manifestPath + ".partial", manifestPath, overwrite: true);
            sessions.Clear(); // owned by the staged session now
            return staged;
        }
        finally
        {
            foreach (var session in sessions.Values) session.Dispose();
            File.Delete(optimized);
        }
    }

    // Removes a prepared directory that cannot be used; another process may be using or removing it too.
    private static void Discard(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    private sealed record Manifest(IReadOnlyList<string> Stages, IReadOnlyList<string> Inputs, IReadOnlyList<string> Outputs);
}
