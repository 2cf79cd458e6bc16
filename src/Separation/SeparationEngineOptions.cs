using System.ComponentModel.DataAnnotations;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation;

/// <summary>The separation engine: which model, and how ONNX Runtime runs it (configuration section "Separation").</summary>
public sealed class SeparationEngineOptions
{
    public const string Section = "Separation";

    /// <summary>An htdemucs ONNX file; empty for the one eng/fetch-assets.sh fetched (checked by sha256).</summary>
    public string? ModelPath { get; set; }

    /// <summary>The sha256 <see cref="ModelPath"/> must have; empty to take an operator's model as it is (its interface is still checked).</summary>
    [RegularExpression("^[0-9a-fA-F]{64}$", ErrorMessage = "must be 64 hex digits")]
    public string? ModelSha256 { get; set; }

    /// <summary>ONNX Runtime's threads inside one operator; 0 for its own choice.</summary>
    [Range(0, 1024)]
    public int Threads { get; set; }

    /// <summary>Run on the CUDA execution provider: needs the GPU build (-p:OrtFlavor=gpu), CUDA 13 and cuDNN 9.</summary>
    public bool Cuda { get; set; }

    [Range(0, 64)]
    public int CudaDevice { get; set; }

    /// <summary>Run the model as consecutive sessions on the CPU (less than half the memory; see OrtStagedSession).</summary>
    public bool Staged { get; set; } = true;

    /// <summary>One ONNX Runtime CPU arena for every session of the process instead of the C heap (see OrtSessionOptions).</summary>
    public bool CpuMemoryArena { get; set; } = true;

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
        IntraOpThreads = Threads, UseCuda = Cuda, CudaDeviceId = CudaDevice, Staged = Staged, CpuMemoryArena = CpuMemoryArena,
        Telemetry = OnnxRuntimeTelemetry,
    };
}
