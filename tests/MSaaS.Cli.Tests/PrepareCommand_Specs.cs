using MSaaS.Separation;
using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Cli.Tests;

/// <summary>msaas prepare: the model prepared into the cache ahead of a worker, which then starts without preparing.</summary>
[Collection("console")]
public sealed class PrepareCommand_Specs : IDisposable
{
    // A model path of this test's own: its prepared directories are its own, named after it, and removed after.
    private readonly string _model = Path.Combine(Path.GetTempPath(), $"prepare-{Guid.NewGuid():N}.onnx");

    public void Dispose()
    {
        File.Delete(_model);
        var prepared = Path.Combine(AssetPaths.CacheDirectory, "prepared");
        if (Directory.Exists(prepared))
            foreach (var directory in Directory.GetDirectories(prepared, Path.GetFileNameWithoutExtension(_model) + "-*"))
                Directory.Delete(directory, recursive: true);
    }

    [Fact]
    [Trait("Category", "Model")]
    public async Task Should_prepare_the_model_so_that_opening_it_prepares_nothing_and_then_have_nothing_to_do()
    {
        File.CreateSymbolicLink(_model, AssetPaths.DefaultModel);
        var options = new SeparationEngineOptions { ModelPath = _model, Precision = OrtPrecision.Int8 };
        Assert.True(DemucsSeparator.WillPrepare(options));

        var (code, stdout, stderr) = await CliRunner.Run("prepare", "--model", _model, "--precision", "int8");

        Assert.True(code == 0, stderr);
        Assert.StartsWith($"Prepared {_model} (int8) in ", stdout);
        Assert.False(DemucsSeparator.WillPrepare(options));
        var again = await CliRunner.Run("prepare", "--model", _model, "--precision", "int8");
        Assert.Equal(0, again.Code);
        Assert.StartsWith("Nothing to prepare", again.Stdout);
    }

    [Fact]
    public async Task Should_refuse_a_file_that_is_not_a_model_in_one_line_and_keep_nothing()
    {
        await File.WriteAllBytesAsync(_model, [1, 2, 3, 4, 5, 6, 7, 8]);

        var (code, _, stderr) = await CliRunner.Run("prepare", "--model", _model, "--precision", "int8");

        Assert.Equal(1, code);
        Assert.StartsWith($"msaas: error: cannot load model {_model}", stderr);
        Assert.Single(stderr.Trim().Split('\n'));
        var prepared = Path.Combine(AssetPaths.CacheDirectory, "prepared");
        Assert.Empty(Directory.Exists(prepared) ? Directory.GetDirectories(prepared, Path.GetFileNameWithoutExtension(_model) + "-*") : []);
    }
}
