using MSaaS.Separation.Demucs;

namespace MSaaS.Separation.Tests;

/// <summary>
/// One htdemucs session shared by the tests that need the real model (loading it takes seconds). The model and
/// the runtime come from eng/fetch-assets.sh's cache; without them these tests fail, they do not skip.
/// </summary>
public sealed class ModelFixture : IDisposable
{
    public ModelFixture() => Separator = DemucsSeparator.Open(new SeparationEngineOptions());

    public DemucsSeparator Separator { get; }

    public void Dispose() => Separator.Dispose();
}

[CollectionDefinition(Name)]
public sealed class ModelCollection : ICollectionFixture<ModelFixture>
{
    public const string Name = "htdemucs model";
}
