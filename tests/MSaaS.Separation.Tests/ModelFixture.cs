using MSaaS.Separation.Demucs;
using MSaaS.Separation.Onnx;

namespace MSaaS.Separation.Tests;

/// <summary>
/// One htdemucs session shared by the tests that need the real model (loading it takes seconds). The model and
/// the runtime come from eng/fetch-assets.sh's cache; without them these tests fail, they do not skip.
/// </summary>
public sealed class ModelFixture : IDisposable
{
    // fp32 whatever the CPU's default: the specs that share it check the model's own numbers (int8 has its own gate).
    public ModelFixture() => Separator = DemucsSeparator.Open(new SeparationEngineOptions { Precision = OrtPrecision.Fp32 });

    public DemucsSeparator Separator { get; }

    public void Dispose() => Separator.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "htdemucs model";
}
