namespace MSaaS.Separation.Onnx;

/// <summary>How to open an inference session.</summary>
public sealed record OrtSessionSettings
{
    /// <summary>Threads inside one operator; 0 lets ONNX Runtime use one per physical core.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Append the CUDA execution provider (the library must be a GPU build).</summary>
    public bool UseCuda { get; init; }

    public int CudaDeviceId { get; init; }

    /// <summary>
    /// ONNX Runtime's CPU memory arena. Off by default: with htdemucs it grows about 0.9 GB above the activations'
    /// own peak and keeps it for the life of the process, for no measurable speed-up (docs/benchmarks.md).
    /// </summary>
    public bool CpuMemoryArena { get; init; }

    /// <summary>ONNX Runtime's memory-pattern planning; off with the arena, which it relies on.</summary>
    public bool MemoryPattern { get; init; }

    /// <summary>Let ONNX Runtime's idle intra-op threads spin; off so the DSP between runs has the cores.</summary>
    public bool SpinWait { get; init; }
}
