using System.Reflection;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// The process's ONNX Runtime: its one environment (its own log silenced: every failure reaches the caller as an
/// exception with ONNX Runtime's message, and the command line shows one line), its usage telemetry (off unless
/// asked for), the native build this program carries (<see cref="Flavor"/>), and the CPU memory arena that every
/// session of the process shares.
/// </summary>
public static partial class OrtRuntime
{
    public const string CudaProvider = "CUDAExecutionProvider";

    private static readonly Lock Gate = new();
    private static OrtEnv? _environment;
    private static bool _arenaRegistered;

    /// <summary>"cpu" or "gpu": the native package this program was built with (-p:OrtFlavor=...).</summary>
    public static string Flavor { get; } =
        typeof(OrtRuntime).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>().FirstOrDefault(a => a.Key == "OrtFlavor")?.Value ?? "cpu";

    /// <summary>The environment, created at first use with usage telemetry off.</summary>
    public static OrtEnv Environment => CreateEnvironment(telemetry: false);

    /// <summary>
    /// The environment, created at first use. ONNX Runtime's NuGet builds report usage events to Microsoft over HTTPS
    /// (seen here: mobile.events.data.microsoft.com, from every process that opens a model) and keep a device id
    /// under ~/.cache/Microsoft; unless <paramref name="telemetry"/> asks for it, the runtime is told not to, before
    /// it starts (ORT_DISABLE_TELEMETRY, which the native library reads itself). The first call decides for the process.
    /// </summary>
    public static OrtEnv CreateEnvironment(bool telemetry)
    {
        lock (Gate)
        {
            if (_environment is not null) return _environment;
            // .NET keeps its own copy of the environment; the native library reads the C one.
            if (!telemetry && OperatingSystem.IsLinux()) _ = setenv("ORT_DISABLE_TELEMETRY", "1", 1);
            var options = new EnvironmentCreationOptions { logId = "msaas", logLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_FATAL };
            _environment = OrtEnv.CreateInstanceWithOptions(ref options);
            if (telemetry) _environment.EnableTelemetryEvents();
            else _environment.DisableTelemetryEvents();
            return _environment;
        }
    }

    /// <summary>The runtime's own version string, e.g. "1.31.0".</summary>
    public static string Version => Environment.GetVersionString();

    /// <summary>The execution providers compiled into the native library, e.g. CPUExecutionProvider.</summary>
    public static IReadOnlyList<string> AvailableProviders => Environment.GetAvailableProviders();

    /// <summary>
    /// Registers one CPU arena on the environment, once per process; sessions opened with
    /// <c>session.use_env_allocators</c> then allocate from it instead of an arena of their own.
    /// </summary>
    public static void EnsureSharedCpuArena()
    {
        lock (Gate)
        {
            if (_arenaRegistered) return;
            using var memory = new OrtMemoryInfo(OrtMemoryInfo.allocatorCPU, OrtAllocatorType.ArenaAllocator, 0, OrtMemType.Default);
            // Defaults (grow by powers of two, no limit): measured the lowest peak for htdemucs (docs/benchmarks.md).
            using var config = new OrtArenaCfg(0, -1, -1, -1);
            Environment.CreateAndRegisterAllocator(memory, config);
            _arenaRegistered = true;
        }
    }

    [LibraryImport("libc", StringMarshalling = StringMarshalling.Utf8)]
    private static partial int setenv(string name, string value, int overwrite);
}
