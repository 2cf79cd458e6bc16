using Google.Protobuf;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

public sealed class ModelLoading_Specs : IDisposable
{
    private readonly DirectoryInfo _files = Directory.CreateTempSubdirectory("msaas-models-");

    [Fact]
    public void Should_say_where_a_missing_model_should_be()
    {
        var error = Assert.Throws<SeparationException>(() => DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = "/no/such/htdemucs.onnx" }));
        Assert.Contains("model not found", error.Message);
    }

    [Fact]
    public void Should_refuse_a_model_whose_checksum_differs()
    {
        var path = TempFile("other.onnx", TinyOnnx.Identity(1, 2, 343_980));
        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = path, ModelSha256 = AssetPaths.DefaultModelSha256 }));
        Assert.Contains("not the expected model", error.Message);
    }

    [Fact]
    public void Should_refuse_a_file_that_is_not_onnx()
    {
        var path = TempFile("garbage.onnx", [1, 2, 3, 4, 5, 6, 7, 8]);
        // fp32: int8 (the default on CPUs with VNNI) would first try to prepare it in the user's cache.
        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = path, Precision = OrtPrecision.Fp32 }));
        Assert.Contains("cannot load model", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Theory]
    [InlineData(OrtPrecision.Fp32, true)]
    [InlineData(OrtPrecision.Int8, true)]
    [InlineData(OrtPrecision.Fp32, false)] // nothing to prepare: refused once ONNX Runtime has opened it
    public void Should_refuse_an_onnx_model_with_another_interface(OrtPrecision precision, bool staged)
    {
        var path = TempFile("identity.onnx", TinyOnnx.Identity(1, 2, 343_980));
        var prepared = Path.Combine(AssetPaths.CacheDirectory, "prepared");
        var preparedName = Path.GetFileNameWithoutExtension(path);

        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = path, Precision = precision, Staged = staged }));

        Assert.Contains("is not the htdemucs model", error.Message);
        Assert.Contains("inputs are x: float [1, 2, 343980]", error.Message);
        // int8 prepares (quantizes, then caches) the model it opens: a file that is not htdemucs is refused before that.
        Assert.Empty(Directory.Exists(prepared) ? Directory.GetDirectories(prepared, preparedName + "*") : []);
    }

    [Fact]
    public void Should_read_the_interface_a_model_file_declares_as_onnx_runtime_does()
    {
        var declared = OnnxModelFile.ReadInterface(AssetPaths.DefaultModel);
        using var session = OrtSessions.Open(AssetPaths.DefaultModel, new OrtSessionOptions { IntraOpThreads = 1 });

        Assert.Equal(session.InputNames, declared.Inputs.Select(i => i.Name));
        Assert.Equal(session.OutputNames, declared.Outputs.Select(o => o.Name));
        foreach (var input in declared.Inputs)
        {
            Assert.Equal(session.InputMetadata[input.Name].ElementDataType, input.Type);
            Assert.Equal(session.InputMetadata[input.Name].Dimensions.Select(d => (long)d), input.Dimensions);
        }
        // The outputs' dimensions are named, not sized, in the file (-1 here); ONNX Runtime infers the sizes.
        foreach (var output in declared.Outputs)
        {
            var metadata = session.OutputMetadata[output.Name];
            Assert.Equal(metadata.ElementDataType, output.Type);
            Assert.Equal(metadata.Dimensions.Length, output.Dimensions.Length);
            Assert.All(output.Dimensions.Zip(metadata.Dimensions), d => Assert.True(d.First == d.Second || d.First == -1, $"{output.Name}: {d}"));
        }
    }

    [Fact]
    public void Should_read_a_declared_interface_without_the_weights_listed_among_the_inputs()
    {
        var path = TempFile("linear.onnx", TinyLinearOnnx.Model(initializersAsInputs: true).ToByteArray());

        var declared = OnnxModelFile.ReadInterface(path);

        Assert.Equal(["x", "y"], declared.Inputs.Select(i => i.Name));
        Assert.Equal(new OnnxStageCut(OnnxModelFile.Read(path)).Inputs, declared.Inputs.Select(i => i.Name));
        Assert.Equal([TinyLinearOnnx.XShape, TinyLinearOnnx.YShape], declared.Inputs.Select(i => i.Dimensions));
        Assert.Equal(("out", (Microsoft.ML.OnnxRuntime.Tensors.TensorElementType?)Microsoft.ML.OnnxRuntime.Tensors.TensorElementType.Float),
            (declared.Outputs.Single().Name, declared.Outputs.Single().Type));
    }

    public static TheoryData<string, byte[], string> DamagedFiles => new()
    {
        { "cut short", TinyLinearOnnx.Model().ToByteArray()[..^7], "ended unexpectedly" },
        { "a graph claiming more than the file", [0x3A, 0xFF, 0xFF, 0xFF, 0x7F, 0x0A], "ended unexpectedly" },
        { "an input claiming more than its graph", [0x3A, 0x04, 0x5A, 0x10, 0x0A, 0x0E, .. Enumerable.Repeat((byte)'a', 14)], "runs past the message" },
        { "a group (wire type 3) that never ends", [0x3A, 0x02, 0x0B, 0x00], "invalid tag" },
        { "wire type 7", [0x3A, 0x02, 0x0F, 0x00], "invalid tag" },
        { "a varint of 11 bytes", [0x08, .. Enumerable.Repeat((byte)0xFF, 10), 0x01, 0x3A, 0x00], "malformed varint" },
        { "no graph", [0x08, 0x08], "no graph" },
    };

    [Theory]
    [MemberData(nameof(DamagedFiles))]
    public void Should_refuse_a_damaged_file_when_reading_its_interface(string what, byte[] bytes, string reason)
    {
        var path = TempFile("damaged.onnx", bytes);

        var error = Record.Exception(() => OnnxModelFile.ReadInterface(path));

        Assert.True(error is InvalidDataException, $"{what}: {error?.GetType().Name ?? "no error"}");
        Assert.Contains(reason, error!.Message);
    }

    [Fact]
    public void Should_find_the_fetched_model_what_it_declares_to_be() =>
        HtDemucsModel.CheckDeclaredInterface(AssetPaths.DefaultModel); // a first start prepares it only after this check

    [Fact]
    public void Should_say_clearly_when_cuda_is_asked_of_a_cpu_build()
    {
        Assert.Equal("cpu", OrtRuntime.Flavor); // the tests run the default build

        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(new SeparationEngineOptions { Cuda = true }));

        Assert.Contains("CPU build of ONNX Runtime", error.Message);
        Assert.Contains("-p:OrtFlavor=gpu", error.Message);
    }

    [Theory]
    [InlineData(new string[0], "libcuda.so.1 cannot be loaded (the NVIDIA driver is missing")]
    [InlineData(new[] { "libcuda.so.1" }, "libcudart.so.13 cannot be loaded (CUDA 13 is missing")]
    [InlineData(new[] { "libcuda.so.1", "libcudart.so.13", "libcublas.so.13", "libcublasLt.so.13", "libcurand.so.10" },
        "libcudnn.so.9 cannot be loaded (cuDNN 9 is missing")]
    public void Should_name_the_first_cuda_library_that_does_not_load(string[] present, string expected)
    {
        var reason = OrtSessions.MissingCudaLibrary(present.Contains);

        Assert.NotNull(reason);
        Assert.Contains(expected, reason);
    }

    [Fact]
    public void Should_find_nothing_missing_when_every_cuda_library_loads() =>
        Assert.Null(OrtSessions.MissingCudaLibrary(_ => true));

    [Fact]
    public void Should_open_the_fetched_model_on_the_cpu()
    {
        using var session = OrtSessions.Open(AssetPaths.DefaultModel, new OrtSessionOptions { IntraOpThreads = 1 });
        Assert.Equal(["input", "onnx::ReduceMean_1"], session.InputNames);
        Assert.Equal([1, 4, 4, 2048, 336], session.OutputMetadata[session.OutputNames[0]].Dimensions);
    }

    public void Dispose() => _files.Delete(recursive: true);

    private string TempFile(string name, byte[] content)
    {
        var path = Path.Combine(_files.FullName, $"{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, content);
        return path;
    }
}
