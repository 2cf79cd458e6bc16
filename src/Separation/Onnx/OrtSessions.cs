using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>Opens ONNX Runtime sessions the way MSaaS runs them (see <see cref="OrtSessionOptions"/>).</summary>
public static class OrtSessions
{
    /// <summary>Opens <paramref name="modelPath"/> with every graph optimisation; a file ONNX Runtime cannot load is a <see cref="SeparationException"/>.</summary>
    public static InferenceSession Open(string modelPath, OrtSessionOptions settings)
    {
        using var options = Options(settings, GraphOptimizationLevel.ORT_ENABLE_ALL);
        if (settings.ProfileDirectory is { } profiles)
        {
            // One prefix per model file (ONNX Runtime adds only a timestamp), set first: enabling the profiler takes the
            // prefix set at that moment. The file is written when the session is disposed, into a directory made now.
            try
            {
                Directory.CreateDirectory(profiles);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
            {
                throw new SeparationException($"cannot write ONNX Runtime profiles to {profiles}: {e.Message}", e);
            }
            options.ProfileOutputPathPrefix = Path.Combine(profiles, Path.GetFileNameWithoutExtension(modelPath));
            options.EnableProfiling = true;
        }
        return Create(modelPath, options);
    }

    /// <summary>
    /// Writes <paramref name="modelPath"/> after ONNX Runtime's basic graph optimisations (constant folding, shape
    /// computations folded away, redundant nodes removed) to <paramref name="destination"/>. The result uses
    /// standard ONNX operators only, so it runs anywhere the original does.
    /// </summary>
    public static void SaveBasicOptimized(string modelPath, string destination, OrtSessionOptions settings)
    {
        using var options = Options(settings with { UseCuda = false }, GraphOptimizationLevel.ORT_ENABLE_BASIC);
        options.OptimizedModelFilePath = destination;
        Create(modelPath, options).Dispose();
    }

    /// <summary>The execution providers a session opened with <paramref name="settings"/> runs on, in preference order.</summary>
    public static IReadOnlyList<string> Providers(OrtSessionOptions settings) =>
        settings.UseCuda ? [OrtRuntime.CudaProvider, "CPUExecutionProvider"] : ["CPUExecutionProvider"];

    private static InferenceSession Create(string modelPath, SessionOptions options)
    {
        try
        {
            return new InferenceSession(modelPath, options);
        }
        catch (OnnxRuntimeException e)
        {
            throw new SeparationException($"cannot load model {modelPath}: {OneLine(e.Message)}", e);
        }
    }

    private static SessionOptions Options(OrtSessionOptions settings, GraphOptimizationLevel level)
    {
        _ = OrtRuntime.CreateEnvironment(settings.Telemetry); // first, so that its logging and telemetry hold for everything below
        var options = new SessionOptions
        {
            GraphOptimizationLevel = level,
            IntraOpNumThreads = Math.Max(0, settings.IntraOpThreads),
            InterOpNumThreads = 1,
            // A session's own arena would hold its peak for the session's life; the shared one is sized by the largest stage.
            EnableCpuMemArena = false,
            // Memory patterns pre-plan one block per run from a session arena, which is never used here.
            EnableMemoryPattern = false,
        };
        try
        {
            if (settings.CpuMemoryArena)
            {
                OrtRuntime.EnsureSharedCpuArena();
                options.AddSessionConfigEntry("session.use_env_allocators", "1");
            }
            // Between runs the DSP needs the cores that ONNX Runtime's idle workers would otherwise spin on.
            if (!settings.SpinWait) options.AddSessionConfigEntry("session.intra_op.allow_spinning", "0");
            if (settings.UseCuda) AppendCuda(options, settings.CudaDeviceId);
            return options;
        }
        catch
        {
            options.Dispose();
            throw;
        }
    }

    // What libonnxruntime_providers_cuda.so needs (its NEEDED entries, and cuDNN, which it opens at run time), and
    // which package provides each, checked in that order.
    private static readonly (string Library, string Package)[] CudaLibraries =
    [
        ("libcuda.so.1", "the NVIDIA driver"),
        ("libcudart.so.13", "CUDA 13"),
        ("libcublas.so.13", "CUDA 13"),
        ("libcublasLt.so.13", "CUDA 13"),
        ("libcurand.so.10", "CUDA 13"),
        ("libcudnn.so.9", "cuDNN 9"),
    ];

    private static void AppendCuda(SessionOptions options, int deviceId)
    {
        if (!OrtRuntime.AvailableProviders.Contains(OrtRuntime.CudaProvider))
            throw new SeparationException(
                $"CUDA was asked for, but this msaas carries the {OrtRuntime.Flavor.ToUpperInvariant()} build of ONNX Runtime {OrtRuntime.Version} " +
                "(providers: " + string.Join(", ", OrtRuntime.AvailableProviders) + "): build it with -p:OrtFlavor=gpu, or use the separation-gpu image");
        // ONNX Runtime says only "Failed to load shared library" (the name is in its log): find the missing one first.
        if (MissingCudaLibrary(CanLoad) is { } missing) throw new SeparationException(missing);
        try
        {
            options.AppendExecutionProvider_CUDA(deviceId);
        }
        catch (OnnxRuntimeException e)
        {
            throw new SeparationException(string.Create(CultureInfo.InvariantCulture, $"CUDA device {deviceId} is not usable: {OneLine(e.Message)}"), e);
        }
    }

    /// <summary>
    /// Why CUDA cannot run here, in one line naming the first library that does not load and what provides it, or null
    /// when all of them load.
    /// </summary>
    internal static string? MissingCudaLibrary(Func<string, bool> canLoad)
    {
        foreach (var (library, package) in CudaLibraries)
            if (!canLoad(library))
                return $"CUDA is not usable here: {library} cannot be loaded ({package} is missing; ONNX Runtime's GPU build needs the NVIDIA driver, CUDA 13 and cuDNN 9)";
        return null;
    }

    private static bool CanLoad(string library)
    {
        if (!NativeLibrary.TryLoad(library, out var handle)) return false;
        NativeLibrary.Free(handle);
        return true;
    }

    private static string OneLine(string text) => string.Join(' ', text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
}
