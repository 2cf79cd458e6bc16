namespace MSaaS.Separation.Onnx;

/// <summary>How to open an inference session.</summary>
public sealed record OrtSessionOptions
{
    /// <summary>
    /// Threads inside one operator; 0 lets ONNX Runtime use one per physical core (which ignores cgroup quotas and counts
    /// one thread on a 2-vCPU VM). The engine never passes 0: see <see cref="SeparationEngineOptions.DefaultThreads"/>.
    /// </summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Append the CUDA execution provider (the library must be a GPU build).</summary>
    public bool UseCuda { get; init; }

    public int CudaDeviceId { get; init; }

    /// <summary>float32 weights, or int8 weight matrix products prepared once and cached (CPU only; see <see cref="OrtPrecision.Int8"/>).</summary>
    public OrtPrecision Precision { get; init; }

    /// <summary>
    /// One ONNX Runtime CPU memory arena shared by every session of the process, instead of the C heap. On by
    /// default: freed activations stay mapped for the next values instead of being unmapped and faulted in afresh
    /// (measured 25 % faster runs), and shared by the stages, the arena is as large as the largest stage needs.
    /// A session's own arena is never used: it would keep that session's peak for the session's life.
    /// </summary>
    public bool CpuMemoryArena { get; init; } = true;

    /// <summary>
    /// Run the model as consecutive sessions, one per part of the network, so each part's buffers are freed when it
    /// ends (CPU only; see OrtStagedSession). On by default: it more than halves peak memory at no cost in speed.
    /// </summary>
    public bool Staged { get; init; } = true;

    /// <summary>Let ONNX Runtime's idle intra-op threads spin; off so the DSP between runs has the cores.</summary>
    public bool SpinWait { get; init; }

    /// <summary>
    /// A directory for ONNX Runtime's profile of each session (a Chrome trace per session, every operator of every
    /// run, written when the session is disposed); null for none. A diagnostic: <c>msaas bench separate --profile</c>.
    /// </summary>
    public string? ProfileDirectory { get; init; }

    /// <summary>Let ONNX Runtime report usage telemetry to Microsoft (see <see cref="OrtRuntime.CreateEnvironment"/>); off.</summary>
    public bool Telemetry { get; init; }
}
