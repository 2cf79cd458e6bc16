namespace MSaaS.Separation.Onnx;

/// <summary>How to open an inference session.</summary>
public sealed record OrtSessionSettings
{
    /// <summary>Threads inside one operator; 0 lets ONNX Runtime use one per physical core.</summary>
    public int IntraOpThreads { get; init; }

    /// <summary>Append the CUDA execution provider (the library must be a GPU build).</summary>
    public bool UseCuda { get; init; }

    public int CudaDeviceId { get; init; }
}
