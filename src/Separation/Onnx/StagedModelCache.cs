using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.OnnxRuntime;

namespace MSaaS.Separation.Onnx;

/// <summary>
/// Makes and keeps the stage files of a cut model: once per model, runtime version, cut and precision, the model is
/// saved after ONNX Runtime's basic optimisations (so shape computations are folded to constants and only tensors
/// cross a cut), its GroupNorms fused (<see cref="OnnxGroupNormFusion"/>), for int8 its weight matrix products
/// quantized (<see cref="OnnxWeightQuantizer"/>), cut by
/// <see cref="OnnxStageCut"/>, and each stage written as a model of its own under
/// <c>prepared/&lt;model&gt;-&lt;cut&gt;-&lt;precision&gt;-&lt;key&gt;/</c> with a manifest. Later opens read them back.
/// </summary>
internal static class StagedModelCache
{
    internal const string ManifestName = "stages.json";
    // 2: the precision is part of the key and the name (issue 12). 3, 4: GroupNorms fused (4: between their reshapes).
    // 5: written by the generated ONNX types (issue 23): the same models, other bytes. Raise it when what Prepare writes
    // changes.
    private const int FormatVersion = 5;

    /// <summary>One stage with every node: how an int8 model runs when it is not cut.</summary>
    internal static readonly OrtStaging Whole = new("whole", _ => 0);

    /// <summary>
    /// The staged session, prepared now or read from the cache. For fp32, null when the model should run whole: the
    /// cut leaves one stage, the file is not one the cut can read, or the stages cannot be written or do not run. For
    /// int8, never null: a model the cut does not divide is prepared <see cref="Whole"/>, and a model that cannot be
    /// prepared is a <see cref="SeparationException"/> (running fp32 instead would not be what was asked for).
    /// </summary>
    public static OrtStagedSession? Open(string modelPath, OrtSessionOptions settings, OrtStaging staging, string cacheDirectory)
    {
        var quantize = settings.Precision == OrtPrecision.Int8;
        var directory = PreparedDirectory(cacheDirectory, modelPath, staging, OrtRuntime.Version, settings.Precision);
        if (OpenCached(directory, settings) is { } cached) return cached;
        if (staging != Whole && !Divides(modelPath, staging))
            return quantize ? Open(modelPath, settings, Whole, cacheDirectory) : null;
        try
        {
            return Prepare(modelPath, directory, settings, staging);
        }
        catch (Exception e) when (!quantize && e is IOException or UnauthorizedAccessException)
        {
            return null; // nowhere to keep the stages
        }
        catch (Exception e) when (e is SeparationException or OnnxRuntimeException or InvalidDataException or NotSupportedException)
        {
            // The optimised graph could not be cut into sessions that run (a model the cut was not made for).
            Discard(directory);
            if (!quantize) return null;
            if (staging != Whole) return Open(modelPath, settings, Whole, cacheDirectory);
            throw e as SeparationException ?? new SeparationException($"cannot prepare the int8 model of {modelPath}: {e.Message}", e);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new SeparationException($"cannot keep the int8 model of {modelPath} in {directory}: {e.Message}", e);
        }
        finally
        {
            // Preparing read the model into managed memory twice (the original to plan the cut, the optimised one to rewrite
            // and cut it); do not carry it into the first song, nor keep its pages: an aggressive collection compacts the large-object heap and hands its free memory back.
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        }
    }

    /// <summary>The directory that holds the prepared stages once <see cref="Open"/> has made them.</summary>
    internal static string PreparedDirectory(string cacheDirectory, string modelPath, OrtStaging staging, string runtimeVersion,
        OrtPrecision precision)
    {
        var file = new FileInfo(modelPath);
        var name = precision.ToString().ToLowerInvariant();
        var identity = string.Create(CultureInfo.InvariantCulture,
            $"{file.FullName}\n{file.Length}\n{file.LastWriteTimeUtc.Ticks}\n{runtimeVersion}\n{staging.Name}\n{name}\n{FormatVersion}");
        var key = Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(identity)))[..16];
        return Path.Combine(cacheDirectory, "prepared", $"{Path.GetFileNameWithoutExtension(modelPath)}-{staging.Name}-{name}-{key}");
    }

    // The prepared stages in the directory, or null when there are none; a damaged directory is removed.
    private static OrtStagedSession? OpenCached(string directory, OrtSessionOptions settings)
    {
        try
        {
            return TryOpenPrepared(directory, settings);
        }
        catch (Exception e) when (e is SeparationException or InvalidDataException or JsonException)
        {
            Discard(directory); // damaged: prepare it again
            return null;
        }
    }

    // Whether the cut gives more than one stage; a file that cannot be read as ONNX is left to the runtime to refuse.
    private static bool Divides(string modelPath, OrtStaging staging)
    {
        try
        {
            return new OnnxStageCut(OnnxModelFile.Read(modelPath)).Plan(staging.StageOf).Count > 1;
        }
        catch (Exception e) when (e is InvalidDataException or NotSupportedException or OverflowException or IOException)
        {
            return false;
        }
    }

    private static OrtStagedSession? TryOpenPrepared(string directory, OrtSessionOptions settings)
    {
        var manifestPath = Path.Combine(directory, ManifestName);
        if (!File.Exists(manifestPath)) return null;
        var manifest = JsonSerializer.Deserialize<Manifest>(File.ReadAllText(manifestPath));
        if (manifest is not { Stages.Count: > 0, Inputs: not null, Outputs: not null })
            throw new InvalidDataException($"{manifestPath} lists no stages");
        return OpenStages(manifest, settings, file => OrtSessions.Open(Path.Combine(directory, file), settings));
    }

    private static OrtStagedSession OpenStages(Manifest manifest, OrtSessionOptions settings, Func<string, InferenceSession> open)
    {
        var stages = new List<InferenceSession>();
        try
        {
            foreach (var file in manifest.Stages) stages.Add(open(file));
            return new OrtStagedSession([.. stages], manifest.Inputs, manifest.Outputs, OrtSessions.Providers(settings));
        }
        catch
        {
            foreach (var stage in stages) stage.Dispose();
            throw;
        }
    }

    // Optimises the model (basic level), rewrites it in memory, cuts it and writes one model file per stage, then the
    // manifest last, so that a directory with a manifest is complete. Each stage's session is opened as its file is
    // written (the next stage declares its inputs with the types and shapes that session infers for its outputs) and kept.
    private static OrtStagedSession Prepare(string modelPath, string directory, OrtSessionOptions settings, OrtStaging staging)
    {
        Directory.CreateDirectory(directory);
        // Files of this preparation alone: another process, or another thread of this one (model instances opened at
        // once), may be preparing the same directory; each of its files is named when complete.
        var token = $"{Environment.ProcessId}-{Guid.NewGuid():N}";
        var optimized = Path.Combine(directory, $"optimized-{token}.onnx");
        var sessions = new Dictionary<string, InferenceSession>(StringComparer.Ordinal);
        try
        {
            OrtSessions.SaveBasicOptimized(modelPath, optimized, settings);
            var model = OnnxModelFile.Read(optimized);
            File.Delete(optimized);
            OnnxGroupNormFusion.Fuse(model);
            // After the basic optimisations: they fuse MatMul + Add into Gemm, which the rewrite takes with its bias.
            if (settings.Precision == OrtPrecision.Int8) OnnxWeightQuantizer.Quantize(model);
            var cut = new OnnxStageCut(model);
            var plan = cut.Plan(staging.StageOf);
            var types = new Dictionary<string, NodeMetadata>(StringComparer.Ordinal);
            for (var s = 0; s < plan.Count; s++)
            {
                var file = $"stage{s}.onnx";
                var path = Path.Combine(directory, file);
                var partial = $"{path}.{token}.partial";
                OnnxModelFile.Write(cut.Model(plan[s], name => types.TryGetValue(name, out var type) ? type
                    : throw new InvalidDataException($"stage {s} reads {name}, whose type no earlier stage reports")), partial);
                File.Move(partial, path, overwrite: true);
                var session = OrtSessions.Open(path, settings);
                sessions[file] = session;
                foreach (var (name, type) in session.OutputMetadata) types[name] = type;
            }
            var manifest = new Manifest([.. sessions.Keys], cut.Inputs, cut.Outputs);
            var staged = OpenStages(manifest, settings, file => sessions[file]);
            var manifestPath = Path.Combine(directory, ManifestName);
            File.WriteAllText($"{manifestPath}.{token}.partial", JsonSerializer.Serialize(manifest));
            File.Move($"{manifestPath}.{token}.partial", manifestPath, overwrite: true);
            sessions.Clear(); // owned by the staged session now
            return staged;
        }
        finally
        {
            foreach (var session in sessions.Values) session.Dispose();
            File.Delete(optimized); // left by a failed read
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
