using System.Diagnostics;
using System.Text;
using MSaaS.Testing;

namespace MSaaS.Storage.Tests;

public class Sha224_Specs
{
    private static readonly int[] Pieces = [1, 63, 64, 65, 1000, 8807];

    [Theory]
    [InlineData("", "d14a028c2a3a2bc9476102bb288234c415a2b01f828ea62ac5b3e42f")]
    [InlineData("abc", "23097d223405d8228642a477bda255b32aadbce4bda0b3f7e36c9da7")]
    [InlineData("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", "75388b16512776cc5dba5da1fd890150b0c6455cb4f58b1952522525")]
    public void Should_match_the_published_test_vectors(string input, string expected) =>
        Assert.Equal(expected, SongHash.Of(Encoding.ASCII.GetBytes(input)));

    [Theory]
    [InlineData(55)]        // one block with the length
    [InlineData(56)]        // the length needs a second block
    [InlineData(3_000_017)] // a song's size, not a multiple of anything
    public void Should_match_sha224sum(int size)
    {
        var data = new byte[size];
        new Random(size).NextBytes(data);
        var file = TestData.Temp("data.bin");
        File.WriteAllBytes(file, data);
        var info = new ProcessStartInfo("sha224sum") { RedirectStandardOutput = true };
        info.ArgumentList.Add(file);
        using var process = Process.Start(info)!;
        var expected = process.StandardOutput.ReadToEnd().Split(' ')[0];
        process.WaitForExit();

        Assert.Equal(expected, SongHash.Of(data));
    }

    [Fact]
    public async Task Should_hash_a_stream_as_it_hashes_the_bytes()
    {
        var data = new byte[3_000_017];
        new Random(7).NextBytes(data);

        Assert.Equal(SongHash.Of(data), await SongHash.OfAsync(new MemoryStream(data)));
    }

    [Fact]
    public void Should_hash_the_same_in_pieces_as_at_once()
    {
        var data = new byte[10_000];
        new Random(2).NextBytes(data);
        var sha = new Sha224();
        var offset = 0;
        foreach (var size in Pieces)
        {
            sha.Append(data.AsSpan(offset, size));
            offset += size;
        }
        Assert.Equal(Sha224.Hash(data), sha.Finish());
    }

    [Fact]
    public void Should_give_one_id_per_hash()
    {
        var hash = SongHash.Of([1, 2, 3]);
        Assert.Equal(SongHash.Id(hash), SongHash.Id(hash.ToUpperInvariant()));
        Assert.NotEqual(SongHash.Id(hash), SongHash.Id(SongHash.Of([1, 2, 4])));
        Assert.True(SongHash.IsValid(hash));
        Assert.False(SongHash.IsValid(hash.ToUpperInvariant()));
    }
}
