using System.Runtime.InteropServices;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// The entries of the ONNX Runtime C API table (OrtApi) that MSaaS uses, bound by position.
/// The table is append-only, so positions are stable across runtime versions; each index below is the
/// member's position in <c>struct OrtApi</c> of onnxruntime_c_api.h.
/// </summary>
internal sealed unsafe class OrtApi
{
    /// <summary>API version requested: 17 (ORT 1.17) covers every entry below, so GPU builds from 1.17 on load too.</summary>
    public const uint Version = 17;

    public readonly delegate* unmanaged<nint, int> GetErrorCode;                               // 1
    public readonly delegate* unmanaged<nint, byte*> GetErrorMessage;                          // 2
    public readonly delegate* unmanaged<int, byte*, nint*, nint> CreateEnv;                    // 3
    public readonly delegate* unmanaged<nint, byte*, nint, nint*, nint> CreateSession;         // 7
    public readonly delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint> Run; // 9
    public readonly delegate* unmanaged<nint*, nint> CreateSessionOptions;                     // 10
    public readonly delegate* unmanaged<nint, byte*, nint> SetOptimizedModelFilePath;          // 11
    public readonly delegate* unmanaged<nint, nint> DisableMemPattern;                         // 17
    public readonly delegate* unmanaged<nint, nint> DisableCpuMemArena;                        // 19
    public readonly delegate* unmanaged<nint, int, nint> SetSessionGraphOptimizationLevel;     // 23
    public readonly delegate* unmanaged<nint, int, nint> SetIntraOpNumThreads;                 // 24
    public readonly delegate* unmanaged<nint, int, nint> SetInterOpNumThreads;                 // 25
    public readonly delegate* unmanaged<nint, nuint*, nint> SessionGetInputCount;              // 30
    public readonly delegate* unmanaged<nint, nuint*, nint> SessionGetOutputCount;             // 31
    public readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetInputTypeInfo;     // 33
    public readonly delegate* unmanaged<nint, nuint, nint*, nint> SessionGetOutputTypeInfo;    // 34
    public readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetInputName;  // 36
    public readonly delegate* unmanaged<nint, nuint, nint, byte**, nint> SessionGetOutputName; // 37
    public readonly delegate* unmanaged<nint*, nint> CreateRunOptions;                         // 39
    public readonly delegate* unmanaged<nint, nint> RunOptionsSetTerminate;                    // 46
    public readonly delegate* unmanaged<nint, nint, nuint, long*, nuint, int, nint*, nint> CreateTensorWithDataAsOrtValue; // 49
    public readonly delegate* unmanaged<nint, nint*, nint> CastTypeInfoToTensorInfo;           // 55
    public readonly delegate* unmanaged<nint, int*, nint> GetTensorElementType;                // 60
    public readonly delegate* unmanaged<nint, nuint*, nint> GetDimensionsCount;                // 61
    public readonly delegate* unmanaged<nint, long*, nuint, nint> GetDimensions;               // 62
    public readonly delegate* unmanaged<int, int, nint*, nint> CreateCpuMemoryInfo;            // 69
    public readonly delegate* unmanaged<nint, void*, nint> AllocatorFree;                      // 76
    public readonly delegate* unmanaged<nint*, nint> GetAllocatorWithDefaultOptions;           // 78
    public readonly delegate* unmanaged<nint, void> ReleaseEnv;                                // 92
    public readonly delegate* unmanaged<nint, void> ReleaseStatus;                             // 93
    public readonly delegate* unmanaged<nint, void> ReleaseMemoryInfo;                         // 94
    public readonly delegate* unmanaged<nint, void> ReleaseSession;                            // 95
    public readonly delegate* unmanaged<nint, void> ReleaseValue;                              // 96
    public readonly delegate* unmanaged<nint, void> ReleaseRunOptions;                         // 97
    public readonly delegate* unmanaged<nint, void> ReleaseTypeInfo;                           // 98
    public readonly delegate* unmanaged<nint, void> ReleaseSessionOptions;                     // 100
    public readonly delegate* unmanaged<byte***, int*, nint> GetAvailableProviders;            // 125
    public readonly delegate* unmanaged<byte**, int, nint> ReleaseAvailableProviders;          // 126
    public readonly delegate* unmanaged<nint, byte*, byte*, nint> AddSessionConfigEntry;       // 130
    public readonly delegate* unmanaged<nint, nint, nint, nint> CreateAndRegisterAllocator;    // 144
    public readonly delegate* unmanaged<nint, byte*, byte*, nint> AddRunConfigEntry;           // 165
    public readonly delegate* unmanaged<nint, nint, nint> SessionOptionsAppendExecutionProvider_CUDA_V2; // 204
    public readonly delegate* unmanaged<nint*, nint> CreateCUDAProviderOptions;                // 205
    public readonly delegate* unmanaged<nint, byte**, byte**, nuint, nint> UpdateCUDAProviderOptions; // 206
    public readonly delegate* unmanaged<nint, void> ReleaseCUDAProviderOptions;                // 208

    private OrtApi(nint* t, string libraryPath, string runtimeVersion)
    {
        LibraryPath = libraryPath;
        RuntimeVersion = runtimeVersion;
        GetErrorCode = (delegate* unmanaged<nint, int>)t[1];
        GetErrorMessage = (delegate* unmanaged<nint, byte*>)t[2];
        CreateEnv = (delegate* unmanaged<int, byte*, nint*, nint>)t[3];
        CreateSession = (delegate* unmanaged<nint, byte*, nint, nint*, nint>)t[7];
        Run = (delegate* unmanaged<nint, nint, nint*, nint*, nuint, nint*, nuint, nint*, nint>)t[9];
        CreateSessionOptions = (delegate* unmanaged<nint*, nint>)t[10];
        SetOptimizedModelFilePath = (delegate* unmanaged<nint, byte*, nint>)t[11];
        DisableMemPattern = (delegate* unmanaged<nint, nint>)t[17];
        DisableCpuMemArena = (delegate* unmanaged<nint, nint>)t[19];
        SetSessionGraphOptimizationLevel = (delegate* unmanaged<nint, int, nint>)t[23];
        SetIntraOpNumThreads = (delegate* unmanaged<nint, int, nint>)t[24];
        SetInterOpNumThreads = (delegate* unmanaged<nint, int, nint>)t[25];
        SessionGetInputCount = (delegate* unmanaged<nint, nuint*, nint>)t[30];
        SessionGetOutputCount = (delegate* unmanaged<nint, nuint*, nint>)t[31];
        SessionGetInputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)t[33];
        SessionGetOutputTypeInfo = (delegate* unmanaged<nint, nuint, nint*, nint>)t[34];
        SessionGetInputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)t[36];
        SessionGetOutputName = (delegate* unmanaged<nint, nuint, nint, byte**, nint>)t[37];
        CreateRunOptions = (delegate* unmanaged<nint*, nint>)t[39];
        RunOptionsSetTerminate = (delegate* unmanaged<nint, nint>)t[46];
        CreateTensorWithDataAsOrtValue = (delegate* unmanaged<nint, nint, nuint, long*, nuint, int, nint*, nint>)t[49];
        CastTypeInfoToTensorInfo = (delegate* unmanaged<nint, nint*, nint>)t[55];
        GetTensorElementType = (delegate* unmanaged<nint, int*, nint>)t[60];
        GetDimensionsCount = (delegate* unmanaged<nint, nuint*, nint>)t[61];
        GetDimensions = (delegate* unmanaged<nint, long*, nuint, nint>)t[62];
        CreateCpuMemoryInfo = (delegate* unmanaged<int, int, nint*, nint>)t[69];
        AllocatorFree = (delegate* unmanaged<nint, void*, nint>)t[76];
        GetAllocatorWithDefaultOptions = (delegate* unmanaged<nint*, nint>)t[78];
        ReleaseEnv = (delegate* unmanaged<nint, void>)t[92];
        ReleaseStatus = (delegate* unmanaged<nint, void>)t[93];
        ReleaseMemoryInfo = (delegate* unmanaged<nint, void>)t[94];
        ReleaseSession = (delegate* unmanaged<nint, void>)t[95];
        ReleaseValue = (delegate* unmanaged<nint, void>)t[96];
        ReleaseRunOptions = (delegate* unmanaged<nint, void>)t[97];
        ReleaseTypeInfo = (delegate* unmanaged<nint, void>)t[98];
        ReleaseSessionOptions = (delegate* unmanaged<nint, void>)t[100];
        GetAvailableProviders = (delegate* unmanaged<byte***, int*, nint>)t[125];
        ReleaseAvailableProviders = (delegate* unmanaged<byte**, int, nint>)t[126];
        AddSessionConfigEntry = (delegate* unmanaged<nint, byte*, byte*, nint>)t[130];
        CreateAndRegisterAllocator = (delegate* unmanaged<nint, nint, nint, nint>)t[144];
        AddRunConfigEntry = (delegate* unmanaged<nint, byte*, byte*, nint>)t[165];
        SessionOptionsAppendExecutionProvider_CUDA_V2 = (delegate* unmanaged<nint, nint, nint>)t[204];
        CreateCUDAProviderOptions = (delegate* unmanaged<nint*, nint>)t[205];
        UpdateCUDAProviderOptions = (delegate* unmanaged<nint, byte**, byte**, nuint, nint>)t[206];
        ReleaseCUDAProviderOptions = (delegate* unmanaged<nint, void>)t[208];
    }

    public string LibraryPath { get; }

    /// <summary>The runtime's own version string, e.g. "1.30.0".</summary>
    public string RuntimeVersion { get; }

    private static readonly Dictionary<string, OrtApi> Loaded = new(StringComparer.Ordinal);

    /// <summary>Loads libonnxruntime from <paramref name="libraryPath"/> (once per process and path).</summary>
    public static OrtApi Load(string libraryPath)
    {
        var fullPath = Path.GetFullPath(libraryPath);
        lock (Loaded)
        {
            if (Loaded.TryGetValue(fullPath, out var api)) return api;
            if (!File.Exists(fullPath))
                throw new OrtException($"ONNX Runtime native library not found at {fullPath}");
            nint lib;
            try
            {
                lib = NativeLibrary.Load(fullPath);
            }
            catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
            {
                // The loader's own reason (dlerror) is the last line of the message.
                var reason = e.Message.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
                throw new OrtException($"cannot load ONNX Runtime from {fullPath}: {reason}", e);
            }
            if (!NativeLibrary.TryGetExport(lib, "OrtGetApiBase", out var getApiBase))
                throw new OrtException($"{fullPath} is not ONNX Runtime: it exports no OrtGetApiBase");

            // struct OrtApiBase { const OrtApi* GetApi(uint32_t version); const char* GetVersionString(void); }
            var apiBase = ((delegate* unmanaged<nint*>)getApiBase)();
            var getApi = (delegate* unmanaged<uint, nint*>)apiBase[0];
            var getVersion = (delegate* unmanaged<byte*>)apiBase[1];
            var version = Marshal.PtrToStringUTF8((nint)getVersion()) ?? "unknown";
            var table = getApi(Version);
            if (table == null)
                throw new OrtException($"ONNX Runtime {version} at {fullPath} does not serve C API version {Version} (1.{Version} or newer is needed)");
            api = new OrtApi(table, fullPath, version);
            Loaded[fullPath] = api;
            return api;
        }
    }

    /// <summary>Turns a returned OrtStatus* into an exception carrying the runtime's message, releasing the status.</summary>
    public void Check(nint status)
    {
        if (status == 0) return;
        var code = GetErrorCode(status);
        var message = (Marshal.PtrToStringUTF8((nint)GetErrorMessage(status)) ?? "unknown ONNX Runtime error").Trim();
        ReleaseStatus(status);
        throw new OrtException(code, message);
    }

    /// <summary>The execution providers compiled into the loaded library, e.g. CPUExecutionProvider.</summary>
    public IReadOnlyList<string> AvailableProviders()
    {
        byte** names;
        int count;
        Check(GetAvailableProviders(&names, &count));
        try
        {
            var result = new string[count];
            for (var i = 0; i < count; i++) result[i] = Marshal.PtrToStringUTF8((nint)names[i]) ?? "";
            return result;
        }
        finally
        {
            Check(ReleaseAvailableProviders(names, count));
        }
    }
}
