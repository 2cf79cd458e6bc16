using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

/// <summary>int8 models are made when the model is prepared, and cached beside the fp32 stages.</summary>
public sealed class Int8Preparation_Specs : IDisposable
{
    private static readonly OrtSessionOptions Fp32 = new() { IntraOpThreads = 1 };
    private static readonly OrtSessionOptions Int8 = Fp32 with { Precision = OrtPrecision.Int8 };
    private static readonly OrtStaging AttentionApart = new("test", name => name.StartsWith("/attn/", StringComparison.Ordinal) ? 1 : 0);

    private readonly string _directory = Directory.CreateTempSubdirectory("msaas-int8-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void Should_prepare_fp32_and_int8_stages_side_by_side_and_quantize_only_the_int8_ones()
    {
        var model = WriteModel();

        using var fp32 = OrtStagedSession.Open(model, Fp32, AttentionApart, _directory);
        using var int8 = OrtStagedSession.Open(model, Int8, AttentionApart, _directory);

        var prepared = Directory.GetDirectories(Path.Combine(_directory, "prepared")).Select(d => Path.GetFileName(d)).Order().ToArray();
        Assert.Equal(2, prepared.Length);
        Assert.StartsWith("model-test-fp32-", prepared[0]);
        Assert.StartsWith("model-test-int8-", prepared[1]);
        Assert.Equal(2, int8.StageCount);
        Assert.DoesNotContain(StageOps(prepared[0]), op => op == OnnxWeightQuantizer.QuantizedOperator);
        Assert.Equal(2, StageOps(prepared[1]).Count(op => op == OnnxWeightQuantizer.QuantizedOperator));
        var (expected, actual) = (Run(fp32), Run(int8));
        var peak = expected.Max(MathF.Abs);
        Assert.True(expected.Zip(actual, (e, a) => MathF.Abs(e - a)).Max() <= 0.03f * peak);
    }

    [Fact]
    public void Should_write_the_same_stage_files_each_time_it_prepares_a_model()
    {
        var model = WriteModel();
        var (first, second) = (Path.Combine(_directory, "first"), Path.Combine(_directory, "second"));

        using (OrtStagedSession.Open(model, Int8, AttentionApart, first)) { }
        using (OrtStagedSession.Open(model, Int8, AttentionApart, second)) { }

        var files = Directory.GetFiles(Path.Combine(first, "prepared"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(first, f)).Order().ToArray();
        Assert.Equal(3, files.Length); // two stages and the manifest
        Assert.Equal(files, Directory.GetFiles(Path.Combine(second, "prepared"), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(second, f)).Order());
        Assert.All(files, f => Assert.Equal(File.ReadAllBytes(Path.Combine(first, f)), File.ReadAllBytes(Path.Combine(second, f))));
    }

    [Fact]
    public void Should_prepare_an_int8_model_whole_when_it_is_not_staged()
    {
        var model = WriteModel();

        using var int8 = OrtStagedSession.Open(model, Int8 with { Staged = false }, staging: null, _directory);

        Assert.Equal(1, int8.StageCount);
        var prepared = Path.GetFileName(Directory.GetDirectories(Path.Combine(_directory, "prepared")).Single());
        Assert.StartsWith("model-whole-int8-", prepared);
        Assert.Equal(2, StageOps(prepared).Count(op => op == OnnxWeightQuantizer.QuantizedOperator));
    }

    [Fact]
    public void Should_tell_whether_opening_would_prepare_the_model_first()
    {
        var model = WriteModel();

        Assert.True(OrtStagedSession.WillPrepare(model, Int8, AttentionApart, _directory));
        Assert.False(OrtStagedSession.WillPrepare(model, Fp32, staging: null, _directory)); // fp32 unstaged: nothing to prepare
        Assert.False(OrtStagedSession.WillPrepare(model, Int8 with { UseCuda = true }, AttentionApart, _directory));
        Assert.False(OrtStagedSession.WillPrepare(Path.Combine(_directory, "missing.onnx"), Int8, AttentionApart, _directory));
        using (OrtStagedSession.Open(model, Int8, AttentionApart, _directory)) { }
        Assert.False(OrtStagedSession.WillPrepare(model, Int8, AttentionApart, _directory));
        Assert.True(OrtStagedSession.WillPrepare(model, Fp32, AttentionApart, _directory)); // each precision is prepared on its own

        // A cut that leaves one stage: int8 prepares the model whole, and then has nothing more to prepare.
        var undivided = new OrtStaging("one-stage", _ => 0);
        Assert.True(OrtStagedSession.WillPrepare(model, Int8, undivided, _directory));
        using (OrtStagedSession.Open(model, Int8, undivided, _directory)) { }
        Assert.False(OrtStagedSession.WillPrepare(model, Int8, undivided, _directory));
    }

    [Fact]
    public void Should_refuse_int8_on_CUDA_in_one_line()
    {
        var model = WriteModel();

        var error = Assert.Throws<SeparationException>(() => OrtStagedSession.Open(model, Int8 with { UseCuda = true }, AttentionApart, _directory));

        Assert.Contains("int8 runs on the CPU only", error.Message);
        Assert.DoesNotContain('\n', error.Message);
    }

    [Fact]
    public void Should_default_to_fp32_on_CUDA_and_refuse_an_explicit_int8_there()
    {
        Assert.Equal(OrtPrecision.Fp32, new SeparationEngineOptions { Cuda = true }.ResolvedPrecision);
        Assert.Equal(SeparationEngineOptions.DefaultCpuPrecision, new SeparationEngineOptions().ResolvedPrecision);
        Assert.Equal(OrtPrecision.Int8, new SeparationEngineOptions { Precision = OrtPrecision.Int8 }.Session.Precision);
        var invalid = new SeparationEngineOptions { Cuda = true, Precision = OrtPrecision.Int8 };
        Assert.Contains(invalid.Validate(new System.ComponentModel.DataAnnotations.ValidationContext(invalid)), r => r.MemberNames.Contains("Precision"));
    }

    [Theory]
    [InlineData(true, null, true)] // AVX-VNNI, as .NET reports it
    [InlineData(false, "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni\nbugs\t\t:\n", true)]
    [InlineData(false, "flags\t\t: fpu sse2 avx2 avx512f avx512_vnnix\n", false)]
    [InlineData(false, "flags\t\t: fpu sse2 avx2\n", false)]
    [InlineData(false, null, false)] // no /proc/cpuinfo
    public void Should_default_to_int8_only_on_a_CPU_with_VNNI(bool avxVnni, string? cpuInfo, bool expected)
    {
        Assert.Equal(expected, Int8Hardware.HasVnni(avxVnni, cpuInfo));
    }

    private IEnumerable<string> StageOps(string prepared) =>
        Directory.GetFiles(Path.Combine(_directory, "prepared", prepared), "stage*.onnx").SelectMany(f => OnnxModelFile.Read(f).Graph.Node).Select(n => n.OpType);

    private string WriteModel()
    {
        var path = Path.Combine(_directory, "model.onnx");
        File.WriteAllBytes(path, TinyLinearOnnx.Model().ToByteArray());
        return path;
    }

    private static float[] Run(OrtStagedSession session)
    {
        var random = new Random(3);
        var x = Enumerable.Range(0, 24).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var y = Enumerable.Range(0, 20).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
        var output = new float[15];
        using var xValue = OrtValue.CreateTensorValueFromMemory(x, TinyLinearOnnx.XShape);
        using var yValue = OrtValue.CreateTensorValueFromMemory(y, TinyLinearOnnx.YShape);
        using var outValue = OrtValue.CreateTensorValueFromMemory(output, TinyLinearOnnx.OutShape);
        using var options = new RunOptions();
        session.Run([xValue, yValue], [outValue], options);
        return output;
    }
}
