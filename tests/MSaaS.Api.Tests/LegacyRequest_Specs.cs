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
    [InlineData($$$$"""{"songhash": "{{{{Hash}}}}", "input_bucket": "inbox", "input_object": "song.mp3", "output_bucket": "out"}""", "inbox", "song.mp3", null, null)]
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
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "work"}""", "bucket work is the service's own")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "sagas"}""", "bucket sagas is the service's own")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "My_Bucket"}""", "'My_Bucket' is not a bucket name")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "bucket": "q\u0000ueue"}""", @"'q\u0000ueue' is not a bucket name")]
    [InlineData($$$$"""{"hash": "{{{{Hash}}}}", "object": "a\u0000.mp3"}""", @"'a\u0000.mp3' is not an object name")]
    public void Should_say_what_is_wrong_with_a_malformed_message(string json, string reason)
    {
        var error = Assert.Throws<FormatException>(() => LegacyRequest.Parse(json));
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public void Should_quote_no_more_than_a_little_of_a_huge_value()
    {
        var error = Assert.Throws<FormatException>(() => LegacyRequest.Parse($$"""{"hash": "{{new string('f', 20_000_000)}}"}"""));
        Assert.InRange(error.Message.Length, 1, 200);
        Assert.Contains("(20000000 characters)", error.Message);
    }
}
