namespace MSaaS.Storage.Tests;

public sealed class LocalObjectStore_Specs : ObjectStore_Specs, IAsyncLifetime
{
    private readonly LocalObjectStore _store = new(Path.Combine(Path.GetTempPath(), "msaas-store-" + Guid.NewGuid().ToString("N")));

    protected override IObjectStore Store => _store;

    public async Task InitializeAsync()
    {
        await _store.EnsureBucketAsync(SongObjects.UploadBucket);
        await _store.EnsureBucketAsync(SongObjects.StemBucket);
    }

    public Task DisposeAsync()
    {
        Directory.Delete(_store.Root, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Should_never_list_a_write_in_progress()
    {
        var key = SongObjects.Upload("abc");
        Directory.CreateDirectory(Path.Combine(_store.Root, "queue", ".staging"));
        await File.WriteAllBytesAsync(Path.Combine(_store.Root, "queue", ".staging", "half"), [1, 2]);
        await _store.PutAsync(key, new MemoryStream([1]), SongObjects.Mp3ContentType);

        var names = new List<string>();
        await foreach (var o in _store.ListAsync("queue", "")) names.Add(o.Key.Name);
        Assert.Equal(["abc.mp3"], names);
    }

    [Fact]
    public async Task Should_list_past_a_file_whose_name_no_object_may_have()
    {
        await File.WriteAllBytesAsync(Path.Combine(_store.Root, "queue", "bad\u0001name.mp3"), [1]);
        await _store.PutAsync(SongObjects.Upload("abc"), new MemoryStream([1]), SongObjects.Mp3ContentType);

        var names = new List<string>();
        await foreach (var o in _store.ListAsync("queue", "")) names.Add(o.Key.Name);

        Assert.Equal(["abc.mp3"], names);
    }
}
