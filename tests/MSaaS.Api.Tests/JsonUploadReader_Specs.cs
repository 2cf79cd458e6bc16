using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using MSaaS.Storage;

namespace MSaaS.Api.Tests;

/// <summary>The JSON upload, read as it arrives: a byte order mark before it is taken, however the reads cut it (issue 10).</summary>
public sealed class JsonUploadReader_Specs
{
    [Fact]
    public async Task Should_take_a_json_upload_that_starts_with_a_byte_order_mark()
    {
        await using var api = await ApiHost.Start();
        var song = ApiHost.Song();
        var content = new ByteArrayContent(Bytes("", [0xEF, 0xBB, 0xBF], $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");

        var response = await api.Client.PostAsync("/apiv1/separate", content);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(SongHash.Of(song), (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("hash").GetString());
    }

    [Theory]
    [InlineData(1, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(2, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(3, new byte[] { 0xEF, 0xBB, 0xBF }, true)]
    [InlineData(1, new byte[] { 0xEF, 0xBB }, false)] // not a whole mark: not JSON
    [InlineData(1, new byte[] { 0xBB }, false)]
    public async Task Should_find_a_byte_order_mark_however_the_reads_cut_it(int bytesPerRead, byte[] before, bool valid)
    {
        var song = ApiHost.Song();
        var body = new Trickle(Bytes("", before, $"{{\"mp3\": \"{Convert.ToBase64String(song)}\"}}"), bytesPerRead);
        await using var spool = new MSaaS.Api.Uploads.UploadSpool(1 << 20);

        var reading = MSaaS.Api.Uploads.JsonUploadReader.ReadAsync(body, spool, CancellationToken.None);

        if (!valid)
        {
            Assert.Equal(400, (await Assert.ThrowsAsync<MSaaS.Api.Uploads.RequestRefusedException>(() => reading)).Status);
            return;
        }
        await reading;
        spool.Complete();
        Assert.Equal(SongHash.Of(song), spool.Hash);
    }

    // Hands out its bytes a few at a time, as a slow client's packets arrive.
    private sealed class Trickle(byte[] bytes, int perRead) : MemoryStream(bytes)
    {
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, perRead)], cancellationToken);
    }

    private static byte[] Bytes(string before, byte[] raw, string after) => [.. System.Text.Encoding.UTF8.GetBytes(before), .. raw, .. System.Text.Encoding.UTF8.GetBytes(after)];
}
