using MSaaS.Api.Compat;

namespace MSaaS.Api.Tests;

public class LegacyRequest_Specs
{
    private const string Hash = "0a2c99e3d836be4fa316b729389aadc5811123200d58230126445d4e";

    [Theory]
    [InlineData($$$$"""{"songhash": "{{{{Hash}}}}", "model": "htdemucs"}""", "queue", Hash + ".mp3", null, null)]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "callback": {"url": "http://c/x", "data": {"k": [1, "two"]}}}""", "queue", Hash + ".mp3", "http://c/x", """{"k": [1, "two"]}""")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "uploads", "object": "a/b.mp3"}""", "uploads", "a/b.mp3", null, null)]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "uploads", "key": "k.mp3", "callback": "http://c/bare"}""", "uploads", "k.mp3", "http://c/bare", null)]
    [InlineData($$$$"""{"songhash": "{{{{Hash}}}}", "input_bucket": "in", "input_object": "song.mp3", "output_bucket": "out"}""", "in", "song.mp3", null, null)]
    [InlineData($$$$"""{"song_hash": "{{{{Hash}}}}", "callback_url": "http://c/y", "callback_data": {"mp3": "s.mp3"}}""", "queue", Hash + ".mp3", "http://c/y", """{"mp3": "s.mp3"}""")]
    public void Should_read_every_shape_legacy_producers_push(string json, string bucket, string name, string? url, string? data)
    {
        var request = LegacyRequest.Parse(json);

        Assert.Equal(Hash, request.SongHash);
        Assert.Equal((bucket, name), (request.Upload.Bucket, request.Upload.Name));
        Assert.Equal(url, request.Callback?.Url);
        Assert.Equal(data, request.Callback?.Data);
    }

    [Theory]
    [InlineData("not json at all", "not JSON")]
    [InlineData("[1]", "not a JSON object")]
    [InlineData("""{"model": "htdemucs"}""", "no songhash")]
    [InlineData("""{"hash": "abc"}""", "not a SHA-224")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "a/b"}""", "bucket")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "callback": {"data": 1}}""", "callback.url")]
    public void Should_say_what_is_wrong_with_a_malformed_message(string json, string reason)
    {
        var error = Assert.Throws<FormatException>(() => LegacyRequest.Parse(json));
        Assert.Contains(reason, error.Message);
    }
}
