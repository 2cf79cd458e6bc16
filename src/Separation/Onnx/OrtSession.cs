using System.Runtime.InteropServices;

namespace MSaaS.Separation.Onnx;

/// <summary>An ONNX Runtime inference session over a model file, with its graph's interface.</summary>
public sealed unsafe class OrtSession : IDisposable
{
    private const int GraphOptimizationBasic = 1; // ORT_ENABLE_BASIC
    private const int GraphOptimizationAll = 99; // ORT_ENABLE_ALL
    private const int LoggingLevelError = 3;     // ORT_LOGGING_LEVEL_ERROR
    private const string CudaProvider = "CUDAExecutionProvider";

    private static readonly Dictionary<OrtApi, OrtHandle> Environments = [];

    private readonly OrtApi _api;
    private readonly OrtHandle _session;
    private readonly OrtHandle _memoryInfo;
    private readonly nint[] _inputNames;
    private readonly nint[] _outputNames;

    private OrtSession(OrtApi api, OrtHandle session, OrtHandle memoryInfo,
        IReadOnlyList<OrtTensorInfo> inputs, IReadOnlyList<OrtTensorInfo> outputs, IReadOnlyList<string> providers)
    {
        _api = api;
        _session = session;
        _memoryInfo = memoryInfo;
        Inputs = inputs;
        Outputs = outputs;
        ExecutionProviders = providers;
        _inputNames = inputs.Select(i => Marshal.StringToCoTaskMemUTF8(i.Name)).ToArray();
        _outputNames = outputs.Select(o => Marshal.StringToCoTaskMemUTF8(o.Name)).ToArray();
    }

    public IReadOnlyList<OrtTensorInfo> Inputs { get; }

    public IReadOnlyList<OrtTensorInfo> Outputs { get; }

    /// <summary>The execution providers appended to this session, in preference order.</summary>
    public IReadOnlyList<string> ExecutionProviders { get; }

    public string RuntimeVersion => _api.RuntimeVersion;

    /// <summary>Loads the native runtime (if not yet loaded) and opens <paramref name="modelPath"/>.</summary>
    public static OrtSession Open(string libraryPath, string modelPath, OrtSessionSettings settings) =>
        Open(libraryPath, modelPath, settings, GraphOptimizationAll, optimizedModelPath: null);

    /// <summary>
    /// Writes <paramref name="modelPath"/> after ONNX Runtime's basic graph optimisations (constant folding, shape
    /// computations folded away, redundant nodes removed) to <paramref name="destination"/>. The result uses
    /// standard ONNX operators only, so it runs anywhere the original does.
    /// </summary>
    public static void SaveBasicOptimized(string libraryPath, string modelPath, string destination, OrtSessionSettings settings) =>
        Open(libraryPath, modelPath, settings with { UseCuda = false }, GraphOptimizationBasic, destination).Dispose();

    private static OrtSession Open(string libraryPath, string modelPath, OrtSessionSettings settings, int optimizationLevel,
        string? optimizedModelPath)
    {
        var api = OrtApi.Load(libraryPath);
        var env = Environment(api);

        nint raw;
        api.Check(api.CreateSessionOptions(&raw));
        using var options = new OrtHandle(raw, api.ReleaseSessionOptions);
        var opts = options.DangerousGetHandle();
        api.Check(api.SetSessionGraphOptimizationLevel(opts, optimizationLevel));
        if (optimizedModelPath is not null)
        {
            var pathBytes = Marshal.StringToCoTaskMemUTF8(optimizedModelPath);
            try
            {
                api.Check(api.SetOptimizedModelFilePath(opts, (byte*)pathBytes));
            }
            finally
            {
                Marshal.FreeCoTaskMem(pathBytes);
            }
        }
        api.Check(api.SetIntraOpNumThreads(opts, Math.Max(0, settings.IntraOpThreads)));
        api.Check(api.SetInterOpNumThreads(opts, 1));
        // A session's own arena would hold its peak for the session's life; the shared one is sized by the largest stage.
        api.Check(api.DisableCpuMemArena(opts));
        if (settings.CpuMemoryArena)
        {
            SharedArena(api, env);
            AddConfig(api, opts, "session.use_env_allocators", "1");
        }
        // Memory patterns pre-plan one block per run from a session arena, which is never used here.
        api.Check(api.DisableMemPattern(opts));
        if (!settings.SpinWait)
        {
            // Between runs the DSP needs the cores that ONNX Runtime's idle workers would otherwise spin on.
            AddConfig(api, opts, "session.intra_op.allow_spinning", "0");
        }
        var providers = new List<string>();
        if (settings.UseCuda)
        {
            AppendCuda(api, opts, settings.CudaDeviceId);
            providers.Add(CudaProvider);
        }
        providers.Add("CPUExecutionProvider");

        var pathUtf8 = Marshal.StringToCoTaskMemUTF8(modelPath);
        try
        {
            api.Check(api.CreateSession(env.DangerousGetHandle(), (byte*)pathUtf8, opts, &raw));
        }
        catch (OrtException e)
        {
            throw new OrtException(e.ErrorCode, $"cannot load model {modelPath}: {e.Message}");
        }
        finally
        {
            Marshal.FreeCoTaskMem(pathUtf8);
        }
        var session = new OrtHandle(raw, api.ReleaseSession);
        try
        {
            var inputs = Describe(api, session.DangerousGetHandle(), input: true);
            var outputs = Describe(api, session.DangerousGetHandle(), input: false);
            nint memoryInfo;
            api.Check(api.CreateCpuMemoryInfo(0, 0, &memoryInfo)); // OrtDeviceAllocator, OrtMemTypeDefault
            return new OrtSession(api, session, new OrtHandle(memoryInfo, api.ReleaseMemoryInfo), inputs, outputs, providers);
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>A float32 tensor of the given shape, usable as an input or a pre-allocated output of this session.</summary>
    public OrtTensor CreateTensor(params long[] shape) => new(_api, _memoryInfo.DangerousGetHandle(), shape);

    /// <summary>
    /// Runs the graph: <paramref name="inputs"/> and <paramref name="outputs"/> in graph order; results are written
    /// into the outputs' arrays. Cancelling asks the runtime to stop the run in progress.
    /// </summary>
    public void Run(IReadOnlyList<OrtTensor> inputs, IReadOnlyList<OrtTensor> outputs, CancellationToken cancellationToken,
        bool releaseArena = false)
    {
        if (inputs.Count != _inputNames.Length || outputs.Count != _outputNames.Length)
            throw new ArgumentException($"the graph takes {_inputNames.Length} inputs and {_outputNames.Length} outputs");
        var inputValues = new nint[inputs.Count];
        var outputValues = new nint[outputs.Count];
        for (var i = 0; i < inputs.Count; i++) inputValues[i] = inputs[i].Value.DangerousGetHandle();
        for (var i = 0; i < outputs.Count; i++) outputValues[i] = outputs[i].Value.DangerousGetHandle();
        Run(inputValues, outputValues, releaseArena, cancellationToken);
        GC.KeepAlive(inputs);
        GC.KeepAlive(outputs);
    }

    /// <summary>
    /// Runs the graph on OrtValue handles in graph order. An output given as 0 is allocated by the runtime and
    /// handed back in its place; the caller releases it with <see cref="ReleaseValue"/>. With
    /// <paramref name="releaseArena"/>, the shared CPU arena hands its free memory back to the system after the run.
    /// </summary>
    internal void Run(nint[] inputValues, nint[] outputValues, bool releaseArena, CancellationToken cancellationToken)
    {
        if (inputValues.Length != _inputNames.Length || outputValues.Length != _outputNames.Length)
            throw new ArgumentException($"the graph takes {_inputNames.Length} inputs and {_outputNames.Length} outputs");
        cancellationToken.ThrowIfCancellationRequested();

        nint raw;
        _api.Check(_api.CreateRunOptions(&raw));
        using var runOptions = new OrtHandle(raw, _api.ReleaseRunOptions);
        using var registration = cancellationToken.Register(() => _api.RunOptionsSetTerminate(runOptions.DangerousGetHandle()));
        if (releaseArena)
        {
            fixed (byte* key = "memory.enable_memory_arena_shrinkage\0"u8)
            fixed (byte* device = "cpu:0\0"u8)
                _api.Check(_api.AddRunConfigEntry(raw, key, device));
        }

        fixed (nint* inNames = _inputNames)
        fixed (nint* outNames = _outputNames)
        fixed (nint* inValues = inputValues)
        fixed (nint* outValues = outputValues)
        {
            var status = _api.Run(_session.DangerousGetHandle(), runOptions.DangerousGetHandle(),
                inNames, inValues, (nuint)inputValues.Length, outNames, (nuint)outputValues.Length, outValues);
            if (status != 0 && cancellationToken.IsCancellationRequested)
            {
                _api.ReleaseStatus(status);
                cancellationToken.ThrowIfCancellationRequested();
            }
            _api.Check(status);
        }
    }

    /// <summary>Releases an OrtValue that <see cref="Run(nint[], nint[], bool, CancellationToken)"/> allocated.</summary>
    internal void ReleaseValue(nint value) => _api.ReleaseValue(value);

    public void Dispose()
    {
        _session.Dispose();
        _memoryInfo.Dispose();
        foreach (var p in _inputNames.Concat(_outputNames)) Marshal.FreeCoTaskMem(p);
    }

    private static OrtHandle Environment(OrtApi api)
    {
        lock (Environments)
        {
            if (Environments.TryGetValue(api, out var env)) return env;
            nint raw;
            var logId = "msaas"u8;
            fixed (byte* id = logId)
            {
                api.Check(api.CreateEnv(LoggingLevelError, id, &raw));
            }
            // One environment per process, kept for the process's lifetime as ONNX Runtime recommends.
            env = new OrtHandle(raw, api.ReleaseEnv);
            Environments[api] = env;
            return env;
        }
    }

    private static readonly HashSet<OrtApi> ArenaRegistered = [];

    // One CPU arena for the whole process, registered on the environment that every session shares.
    private static void SharedArena(OrtApi api, OrtHandle env)
    {
        lock (ArenaRegistered)
        {
            if (!ArenaRegistered.Add(api)) return;
            nint memoryInfo;
            api.Check(api.CreateCpuMemoryInfo(1, 0, &memoryInfo)); // OrtArenaAllocator, OrtMemTypeDefault
            try
            {
                // Defaults otherwise (grow by powers of two, no limit): measured the lowest peak for htdemucs.
                api.Check(api.CreateAndRegisterAllocator(env.DangerousGetHandle(), memoryInfo, 0));
            }
            catch
            {
                ArenaRegistered.Remove(api);
                throw;
            }
            finally
            {
                api.ReleaseMemoryInfo(memoryInfo);
            }
        }
    }

    private static void AddConfig(OrtApi api, nint sessionOptions, string key, string value)
    {
        var k = Marshal.StringToCoTaskMemUTF8(key);
        var v = Marshal.StringToCoTaskMemUTF8(value);
        try
        {
            api.Check(api.AddSessionConfigEntry(sessionOptions, (byte*)k, (byte*)v));
        }
        finally
        {
            Marshal.FreeCoTaskMem(k);
            Marshal.FreeCoTaskMem(v);
        }
    }

    private static void AppendCuda(OrtApi api, nint sessionOptions, int deviceId)
    {
        var available = api.AvailableProviders();
        if (!available.Contains(CudaProvider))
            throw new OrtException(
                $"the CUDA execution provider was asked for, but ONNX Runtime {api.RuntimeVersion} at {api.LibraryPath} " +
                $"offers only {string.Join(", ", available)}: install a GPU build of libonnxruntime");
        nint raw;
        api.Check(api.CreateCUDAProviderOptions(&raw));
        using var cuda = new OrtHandle(raw, api.ReleaseCUDAProviderOptions);
        var key = Marshal.StringToCoTaskMemUTF8("device_id");
        var value = Marshal.StringToCoTaskMemUTF8(deviceId.ToString(System.Globalization.CultureInfo.InvariantCulture));
        try
        {
            var keys = stackalloc nint[] { key };
            var values = stackalloc nint[] { value };
            api.Check(api.UpdateCUDAProviderOptions(raw, (byte**)keys, (byte**)values, 1));
            api.Check(api.SessionOptionsAppendExecutionProvider_CUDA_V2(sessionOptions, raw));
        }
        catch (OrtException e)
        {
            throw new OrtException(e.ErrorCode,
                $"the CUDA execution provider of ONNX Runtime {api.RuntimeVersion} at {api.LibraryPath} could not be enabled " +
                $"(a GPU build with its provider libraries, CUDA and cuDNN are needed): {e.Message}");
        }
        finally
        {
            Marshal.FreeCoTaskMem(key);
            Marshal.FreeCoTaskMem(value);
        }
    }

    private static OrtTensorInfo[] Describe(OrtApi api, nint session, bool input)
    {
        nuint count;
        api.Check(input ? api.SessionGetInputCount(session, &count) : api.SessionGetOutputCount(session, &count));
        nint allocator;
        api.Check(api.GetAllocatorWithDefaultOptions(&allocator));
        var result = new OrtTensorInfo[(int)count];
        for (nuint i = 0; i < count; i++)
        {
            byte* name;
            api.Check(input ? api.SessionGetInputName(session, i, allocator, &name) : api.SessionGetOutputName(session, i, allocator, &name));
            var nameText = Marshal.PtrToStringUTF8((nint)name) ?? "";
            api.Check(api.AllocatorFree(allocator, name));

            nint typeInfo;
            api.Check(input ? api.SessionGetInputTypeInfo(session, i, &typeInfo) : api.SessionGetOutputTypeInfo(session, i, &typeInfo));
            using var owned = new OrtHandle(typeInfo, api.ReleaseTypeInfo);
            nint tensorInfo;
            api.Check(api.CastTypeInfoToTensorInfo(typeInfo, &tensorInfo));
            if (tensorInfo == 0)
            {
                result[(int)i] = new OrtTensorInfo(nameText, 0, []);
                continue;
            }
            int elementType;
            nuint rank;
            api.Check(api.GetTensorElementType(tensorInfo, &elementType));
            api.Check(api.GetDimensionsCount(tensorInfo, &rank));
            var dims = new long[(int)rank];
            fixed (long* d = dims) api.Check(api.GetDimensions(tensorInfo, d, rank));
            result[(int)i] = new OrtTensorInfo(nameText, elementType, dims);
        }
        return result;
    }
}
