using System.ComponentModel.DataAnnotations;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation;

/// <summary>The separation engine: which model, and how ONNX Runtime runs it (configuration section "Separation").</summary>
public sealed class SeparationEngineOptions : IValidatableObject
{
    public const string Section = "Separation";

    /// <summary>An htdemucs ONNX file; empty for the one eng/fetch-assets.sh fetched (checked by sha256).</summary>
    public string? ModelPath { get; set; }

    /// <summary>The sha256 <see cref="ModelPath"/> must have; empty to take an operator's model as it is (its interface is still checked).</summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "must be 64 hex digits")]
    public string? ModelSha256 { get; set; }

    /// <summary>
    /// ONNX Runtime's threads inside one operator (and the DSP's around it) for each song in hand; 0 (the default) for
    /// the CPUs this process may use (<see cref="DefaultThreads"/>) shared out among <see cref="SongsInParallel"/>.
    /// </summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>
    /// The longest song a worker separates; a longer one is refused as it is decoded (by its header, or once that much
    /// has decoded), before any of it is separated. Four hours by default: above the 3-hour songs the service is made for
    /// (Api:MaxSongBytes takes one at 320 kbps), and a bound on the disk a song at a low bitrate takes (its decoded
    /// samples and stems: about 10 GB for four hours).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "24:00:00")]
    public TimeSpan MaxSongLength { get; set; } = TimeSpan.FromHours(4);

    /// <summary>What a worker separates at once unless configured: the one line to change when measurements say otherwise.</summary>
    public const int DefaultSongsInParallel = 1;

    /// <summary>The most songs a worker may separate at once (each holds a model instance of about 1 GB).</summary>
    public const int MaxSongsInParallel = 16;

    /// <summary>
    /// Songs a worker separates at once, each on a model instance of its own (about 1 GB each while it runs); the
    /// separation consumer takes as many messages at a time. <c>msaas bench worker</c> measures the songs per hour of
    /// each arrangement (docs/operations.md).
    /// </summary>
    [Range(1, MaxSongsInParallel)]
    public int SongsInParallel { get; set; } = DefaultSongsInParallel;

    /// <summary>
    /// The threads a run gets when <see cref="Threads"/> is 0: the CPUs this process may use. That is
    /// <see cref="Environment.ProcessorCount"/>, which on Linux is already the least of the machine's logical CPUs,
    /// the CPUs in the process's scheduler affinity mask, and the cgroup CPU quota (v1 cpu.cfs_quota_us /
    /// cpu.cfs_period_us or v2 cpu.max, which a Kubernetes CPU limit sets) rounded up, at least 1; DOTNET_PROCESSOR_COUNT
    /// overrides it. Checked on this machine (taskset -c 0: 1; a cgroup v1 quota of 0.5 CPU: 1, of 1.5: 2; see
    /// docs/benchmarks.md, "Threads = CPUs"), so MSaaS reads no cgroup file itself. ONNX Runtime's own default (0) counts
    /// physical cores and ignores quotas: one thread on a 2-vCPU VM, 1.8x slower.
    /// </summary>
    public static int DefaultThreads => Environment.ProcessorCount;

    /// <summary>
    /// The intra-op threads each song's session gets: <see cref="Threads"/> when set, else <see cref="DefaultThreads"/>
    /// divided among <see cref="SongsInParallel"/>.
    /// </summary>
    public int ResolvedThreads => ResolveThreads(Threads, DefaultThreads, SongsInParallel);

    /// <summary>
    /// An explicit setting (above 0) wins; otherwise the CPUs this process may use divided among the songs it
    /// separates at once, rounded down so that together they ask for no more threads than there are CPUs; at least 1.
    /// </summary>
    public static int ResolveThreads(int configured, int available, int songsInParallel = 1) =>
        configured > 0 ? configured : Math.Max(1, available / Math.Max(1, songsInParallel));

    /// <summary>Run on the CUDA execution provider: needs the GPU build (-p:OrtFlavor=gpu), CUDA 13 and cuDNN 9.</summary>
    public bool Cuda { get; set; }

    [Range(0, 64)]
    public int CudaDevice { get; set; }

    /// <summary>
    /// fp32, or int8: the weight matrix products on int8 weights, quantized when the model is prepared and cached beside
    /// the fp32 stages (CPU only; docs/separation.md). Empty for the default: fp32 on CUDA, <see cref="DefaultCpuPrecision"/>
    /// on the CPU.
    /// </summary>
    [EnumDataType(typeof(OrtPrecision))]
    public OrtPrecision? Precision { get; set; }

    /// <summary>
    /// The CPU's default precision: int8 where the CPU has VNNI (<see cref="Int8Hardware"/>), else fp32. The int8
    /// decision, its quality gate and its numbers are in docs/separation.md.
    /// </summary>
    public static OrtPrecision DefaultCpuPrecision => Int8Hardware.HasDotProduct ? OrtPrecision.Int8 : OrtPrecision.Fp32;

    /// <summary>The precision the model runs in: <see cref="Precision"/> when set, else fp32 on CUDA and <see cref="DefaultCpuPrecision"/> on the CPU.</summary>
    public OrtPrecision ResolvedPrecision => Precision ?? (Cuda ? OrtPrecision.Fp32 : DefaultCpuPrecision);

    /// <summary>Run the model as consecutive sessions on the CPU (less than half the memory; see OrtStagedSession).</summary>
    public bool Staged { get; set; } = true;

    /// <summary>One ONNX Runtime CPU arena for every session of the process instead of the C heap (see OrtSessionOptions).</summary>
    public bool CpuMemoryArena { get; set; } = true;

    /// <summary>
    /// Run the model once on a silent segment when the engine is opened at start (<see cref="SeparationEngineStartup"/>),
    /// so that the first song's first segment costs what a steady one does instead of about twice that (the first run of a fresh
    /// process faults in the arena's memory, about 150,000 pages). On for a worker; <c>msaas separate</c> turns it off:
    /// for one song it would add a segment's time, not save one.
    /// </summary>
    public bool WarmUp { get; set; } = true;

    /// <summary>
    /// Hand ONNX Runtime's arena memory back to the system after each song: resident memory between songs falls from
    /// about 1.0 GB to 0.6-0.7 GB, but each song's first segment faults it in again (1.5-2x a steady segment), and
    /// the arena regrown after a shrink peaked higher (1.18-1.24 GB against 0.99-1.02 GB over two songs). Off.
    /// </summary>
    public bool ReleaseMemoryAfterSong { get; set; }

    /// <summary>
    /// Encode the stems while the song is separated, on LAME threads beside the model, and store them under their final
    /// names: the song skips the encoding stage (and the lossless copies it reads, and their peak memory). On by default:
    /// on this project's 2-CPU bench a 3-minute song's MP3s cost 13-26 % over WAV this way, the model holding both CPUs
    /// (docs/benchmarks.md, "MP3 while separating"). Off, the worker stores lossless work stems and the encoding service
    /// encodes them.
    /// </summary>
    public bool EncodeWhileSeparating { get; set; } = true;

    /// <summary>
    /// Let ONNX Runtime report usage telemetry to Microsoft over the internet, as its NuGet builds do by default. Off:
    /// a service in a customer's cluster calls out to nobody unasked.
    /// </summary>
    public bool OnnxRuntimeTelemetry { get; set; }

    /// <summary>The model file to open.</summary>
    public string ResolvedModelPath => string.IsNullOrEmpty(ModelPath) ? AssetPaths.DefaultModel : Path.GetFullPath(ModelPath);

    /// <summary>The sha256 to check it against: the fetched model's, unless another file or checksum is given.</summary>
    public string? ExpectedSha256 => !string.IsNullOrEmpty(ModelSha256) ? ModelSha256
        : string.IsNullOrEmpty(ModelPath) ? AssetPaths.DefaultModelSha256 : null;

    /// <summary>How ONNX Runtime opens the model's sessions.</summary>
    public OrtSessionOptions Session => new()
    {
        IntraOpThreads = ResolvedThreads, UseCuda = Cuda, CudaDeviceId = CudaDevice, Staged = Staged, CpuMemoryArena = CpuMemoryArena,
        Telemetry = OnnxRuntimeTelemetry, Precision = ResolvedPrecision, ProfileDirectory = ProfileDirectory,
    };

    /// <summary>
    /// Write ONNX Runtime's per-operator profile of every run to this directory (a diagnostic; the files grow with
    /// every segment, so not for a worker in service). <c>msaas bench separate --profile</c> sets and summarises it.
    /// </summary>
    public string? ProfileDirectory { get; set; }

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Cuda && Precision == OrtPrecision.Int8)
            yield return new ValidationResult("int8 runs on the CPU only (ONNX Runtime has no CUDA kernel for DynamicQuantizeMatMul); use fp32 with Cuda",
                [nameof(Precision)]);
        // Each song's last segment would shrink the one shared arena under the songs still running (their next segments
        // fault it in again): the memory comes back only when no song is in hand, which this setting cannot know.
        if (ReleaseMemoryAfterSong && SongsInParallel > 1)
            yield return new ValidationResult("ReleaseMemoryAfterSong shrinks the arena all songs share; it needs SongsInParallel 1",
                [nameof(ReleaseMemoryAfterSong)]);
    }
}
