using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

public class ModelLoading_Specs
{

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
        var error = Assert.Throws<SeparationException>(() => DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = path }));
        Assert.Contains("cannot load model", error.Message);
        Assert.DoesNotContain("\n", error.Message);
    }

    [Fact]
    public void Should_refuse_an_onnx_model_with_another_interface()
    {
        var path = TempFile("identity.onnx", TinyOnnx.Identity(1, 2, 343_980));
        // fp32: int8 (the default on CPUs with VNNI) would first prepare the model into the user's cache.
        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(new SeparationEngineOptions { ModelPath = path, Precision = MSaaS.Separation.Onnx.OrtPrecision.Fp32 }));
        Assert.Contains("is not the htdemucs model", error.Message);
        Assert.Contains("[1, 2, 343980]", error.Message);
    }

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

    private static string TempFile(string name, byte[] content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"msaas-{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, content);
        return path;
    }
}
