using System.Net;

namespace MSaaS.Api.Tests;

/// <summary>
/// Whatever a client sends as an upload, malformed, cut short or too slow, is a 4xx with a JSON reason and one line in the
/// log, never a 500 or a stack trace (issue 10).
/// </summary>
public sealed class SeparateRequestReader_Specs : IAsyncLifetime
{
    private ApiHost _api = null!;

    public async Task InitializeAsync() => _api = await ApiHost.Start(new Dictionary<string, string?>
    {
        ["Api:MaxSongBytes"] = (4 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
    });

    public async Task DisposeAsync() => await _api.DisposeAsync();

    public static TheoryData<string, string, byte[]> MalformedBodies => new()
    {
        { "invalid UTF-8 inside a JSON string", "application/json", Bytes("{\"mp3\": \"SUQzAAAA\", \"model\": \"\u0001", [0xFF, 0xFE], "\"}") },
        { "invalid UTF-8 inside the callback", "text/plain", Bytes("{\"mp3\": \"SUQzAAAA\", \"callback\": {\"url\": \"http://a/", [0xC3, 0x28], "\"}}") },
        { "multipart without a boundary", "multipart/form-data", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart with a wrong boundary", "multipart/form-data; boundary=other", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart with a boundary too long", "multipart/form-data; boundary=" + new string('b', 80), Bytes("--" + new string('b', 80) + "\r\n") },
        { "multipart cut short", "multipart/form-data; boundary=x", Bytes("--x\r\nContent-Disposition: form-data; name=\"mp3\"; filename=\"a.mp3\"\r\n\r\nID3 and then nothing") },
        { "multipart with too many fields", "multipart/form-data; boundary=x", Bytes(string.Concat(Enumerable.Range(0, 40).Select(i => $"--x\r\nContent-Disposition: form-data; name=\"f{i}\"\r\n\r\nv\r\n")) + "--x--\r\n") },
        { "multipart with an oversized part header", "multipart/form-data; boundary=x", Bytes($"--x\r\nContent-Disposition: form-data; name=\"mp3\"\r\nX-Long: {new string('h', 20_000)}\r\n\r\nID3\r\n--x--\r\n") },
        { "multipart part without Content-Disposition", "multipart/form-data; boundary=x", Bytes("--x\r\nContent-Type: audio/mpeg\r\n\r\nID3\r\n--x--\r\n") },
        { "JSON cut short inside mp3", "application/json", Bytes("{\"mp3\": \"SUQzAAAAAAAA") },
        { "mp3 given twice", "application/json", Bytes("{\"mp3\": \"SUQzAAAA\", \"mp3\": \"SUQzAAAA\"}") },
        { "base64 with a character after the padding", "application/json", Bytes("{\"mp3\": \"SUQzAA==AAAA\"}") },
    };

    [Theory]
    [MemberData(nameof(MalformedBodies))]
    public async Task Should_refuse_malformed_uploads_with_a_4xx_json_reason_and_one_log_line(string what, string contentType, byte[] body)
    {
        var content = new ByteArrayContent(body);
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);

        var response = await _api.Client.PostAsync("/apiv1/separate", content);

        await _api.AssertRefused(response, what);
    }

    [Fact]
    public async Task Should_answer_a_body_that_stops_arriving_with_408_and_a_json_reason()
    {
        var uri = new Uri(_api.Client.BaseAddress!, "/apiv1/separate");
        var head = $"POST /apiv1/separate HTTP/1.1\r\nHost: {uri.Authority}\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n{{\"mp3\": \"SUQz";

        // The client promises 5000 bytes, sends a few and stalls: Kestrel's minimum data rate gives up after its grace period.
        var answer = await ApiHost.Raw(uri, head);

        Assert.StartsWith("HTTP/1.1 408 ", answer);
        Assert.Contains("\"reason\":\"the request arrived too slowly\"", answer);
        Assert.Contains(_api.Log.Entries, e => e.Category == "MSaaS.Api.Refusals" && e.Message.Contains(" 408 ", StringComparison.Ordinal));
        Assert.DoesNotContain(_api.Log.Entries, ApiHost.IsHttpError);
    }

    private static byte[] Bytes(string text) => System.Text.Encoding.UTF8.GetBytes(text);

    private static byte[] Bytes(string before, byte[] raw, string after) => [.. System.Text.Encoding.UTF8.GetBytes(before), .. raw, .. System.Text.Encoding.UTF8.GetBytes(after)];
}
