namespace MSaaS.Storage.Tests;

/// <summary>The contract every store keeps; run against the local directory and a real S3 server.</summary>
public abstract class ObjectStore_Specs
{
    private static readonly string[] Tracks = ["vocals", "drums", "bass", "other"];

    protected abstract IObjectStore Store { get; }

    private static string Song() => Guid.NewGuid().ToString("N");

    [Fact]
    public async Task Should_stream_a_large_object_in_and_out_unchanged()
    {
        var bytes = new byte[12 * 1024 * 1024 + 12345]; // more than one 8 MiB part
        new Random(4).NextBytes(bytes);
        var key = SongObjects.Upload(Song());

        await Store.PutAsync(key, new OneWayStream(bytes), SongObjects.Mp3ContentType);

        var info = await Store.StatAsync(key);
        Assert.NotNull(info);
        Assert.Equal(bytes.Length, info.Size);
        Assert.Equal(SongObjects.Mp3ContentType, info.ContentType);
        await using var read = await Store.OpenReadAsync(key);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.True(bytes.AsSpan().SequenceEqual(copy.ToArray()), "the object came back different");
    }

    [Fact]
    public async Task Should_replace_an_object_written_again()
    {
        var key = SongObjects.Stem(Song(), "bass");
        await Store.PutAsync(key, new MemoryStream([1, 2, 3]), SongObjects.Mp3ContentType);
        await Store.PutAsync(key, new MemoryStream([4, 5]), SongObjects.Mp3ContentType);

        await using var read = await Store.OpenReadAsync(key);
        var copy = new MemoryStream();
        await read.CopyToAsync(copy);
        Assert.Equal([4, 5], copy.ToArray());
    }

    [Fact]
    public async Task Should_list_the_stems_of_one_song()
    {
        var song = Song();
        var other = Song();
        foreach (var track in Tracks)
            await Store.PutAsync(SongObjects.Stem(song, track), new MemoryStream([1]), SongObjects.Mp3ContentType);
        await Store.PutAsync(SongObjects.Stem(other, "drums"), new MemoryStream([1]), SongObjects.Mp3ContentType);

        var names = new List<string>();
        await foreach (var o in Store.ListAsync(SongObjects.StemBucket, SongObjects.StemPrefix(song))) names.Add(o.Key.Name);

        Assert.Equal(Tracks.Order().Select(t => $"{song}-{t}.mp3"), names);
    }

    [Fact]
    public async Task Should_delete_and_say_whether_there_was_an_object()
    {
        var key = SongObjects.Stem(Song(), "drums");
        await Store.PutAsync(key, new MemoryStream([9]), SongObjects.Mp3ContentType);

        Assert.True(await Store.DeleteAsync(key));
        Assert.Null(await Store.StatAsync(key));
        Assert.False(await Store.DeleteAsync(key));
    }

    [Fact]
    public async Task Should_say_there_was_no_object_to_delete_under_a_folder_that_does_not_exist()
    {
        // Work stems are named <hash>/<track>.wav: a song that never had them has no folder either.
        var key = new ObjectKey(SongObjects.StemBucket, $"{Song()}/drums.wav");

        Assert.False(await Store.DeleteAsync(key));
    }

    [Fact]
    public async Task Should_say_when_an_object_does_not_exist()
    {
        var key = SongObjects.Upload(Song());
        Assert.Null(await Store.StatAsync(key));
        var error = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.OpenReadAsync(key));
        Assert.Equal(key, error.Key);
    }

    [Fact]
    public async Task Should_refuse_a_bucket_that_does_not_exist()
    {
        var key = new ObjectKey("no-such-bucket-" + Song()[..8], "x.mp3");
        var error = await Assert.ThrowsAnyAsync<ObjectStoreException>(() => Store.PutAsync(key, new MemoryStream([1]), "audio/mpeg"));
        Assert.IsNotType<ObjectNotFoundException>(error);
        Assert.Contains("bucket", error.Message);
    }

    [Fact]
    public async Task Should_leave_nothing_when_the_upload_fails_midway()
    {
        var key = SongObjects.Upload(Song());
        var failing = new OneWayStream(new byte[20 * 1024 * 1024], failAfter: 10 * 1024 * 1024);

        await Assert.ThrowsAnyAsync<Exception>(() => Store.PutAsync(key, failing, SongObjects.Mp3ContentType));

        Assert.Null(await Store.StatAsync(key));
    }

    /// <summary>A forward-only stream (like a network body), optionally failing after some bytes.</summary>
    private sealed class OneWayStream(byte[] data, long failAfter = long.MaxValue) : Stream
    {
        private long _position;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            if (_position >= failAfter) throw new IOException("the client went away");
            var n = (int)Math.Min(Math.Min(count, data.Length - _position), Math.Max(1, failAfter - _position));
            Array.Copy(data, _position, buffer, offset, n);
            _position += n;
            return n;
        }

        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
