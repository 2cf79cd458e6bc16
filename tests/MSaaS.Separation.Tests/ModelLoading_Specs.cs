using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

public class ModelLoading_Specs
{
    private static readonly DemucsSettings Fetched = new();

    [Fact]
    public void Should_say_where_a_missing_model_should_be()
    {
        var error = Assert.Throws<SeparationException>(() => DemucsSeparator.Open(Fetched.WithModel("/no/such/htdemucs.onnx")));
        Assert.Contains("model not found", error.Message);
    }

    [Fact]
    public void Should_refuse_a_model_whose_checksum_differs()
    {
        var path = TempFile("other.onnx", TinyOnnx.Identity(1, 2, 343_980));
        var error = Assert.Throws<SeparationException>(() =>
            DemucsSeparator.Open(Fetched with { ModelPath = path, ModelSha256 = AssetPaths.DefaultModelSha256 }));
        Assert.Contains("not the expected model", error.Message);
    }

    [Fact]
    public void Should_refuse_a_file_that_is_not_onnx()
    {
        var path = TempFile("garbage.onnx", [1, 2, 3, 4, 5, 6, 7, 8]);
        var error = Assert.Throws<OrtException>(() => DemucsSeparator.Open(Fetched.WithModel(path)));
        Assert.Contains("cannot load model", error.Message);
    }

    [Fact]
    public void Should_refuse_an_onnx_model_with_another_interface()
    {
        var path = TempFile("identity.onnx", TinyOnnx.Identity(1, 2, 343_980));
        var error = Assert.Throws<SeparationException>(() => DemucsSeparator.Open(Fetched.WithModel(path)));
        Assert.Contains("is not the htdemucs model", error.Message);
        Assert.Contains("[1, 2, 343980]", error.Message);
    }

    [Fact]
    public void Should_say_when_the_native_runtime_is_missing()
    {
        var error = Assert.Throws<OrtException>(() => DemucsSeparator.Open(Fetched with { OnnxRuntimePath = "/no/such/libonnxruntime.so.1" }));
        Assert.Contains("not found", error.Message);
    }

    [Fact]
    public void Should_refuse_a_native_library_that_is_not_onnx_runtime()
    {
        var path = TempFile("libnot.so", [0x7F, (byte)'E', (byte)'L', (byte)'F']);
        var error = Assert.Throws<OrtException>(() => DemucsSeparator.Open(Fetched with { OnnxRuntimePath = path }));
        Assert.Contains("cannot load ONNX Runtime", error.Message);
    }

    [Fact]
    public void Should_say_clearly_when_cuda_is_asked_of_a_cpu_build()
    {
        var error = Assert.Throws<OrtException>(() =>
            DemucsSeparator.Open(Fetched with { Session = new OrtSessionSettings { UseCuda = true } }));
        Assert.Contains("CUDA execution provider", error.Message);
    }

    [Fact]
    public void Should_open_the_fetched_model_on_the_cpu()
    {
        using var session = OrtSession.Open(Fetched.OnnxRuntimePath, Fetched.ModelPath, new OrtSessionSettings { IntraOpThreads = 1 });
        Assert.Equal(["CPUExecutionProvider"], session.ExecutionProviders);
        Assert.Equal([1L, 4, 4, 2048, 336], session.Outputs[0].Shape);
    }

    private static string TempFile(string name, byte[] content)
    {
        var path = Path.Combine(Path.GetTempPath(), $"msaas-{Guid.NewGuid():N}-{name}");
        File.WriteAllBytes(path, content);
        return path;
    }
}
