using System.Text.Json;
using Microsoft.AspNetCore.Http;
using MSaaS.Contracts;

namespace MSaaS.Api.Uploads;

/// <summary>
/// Reads the legacy separate request liberally: JSON whatever the Content-Type (or none), base64 with line
/// breaks, unknown fields ignored, or multipart/form-data with a file field "mp3". Anything else is a
/// <see cref="RequestRefusedException"/> with a reason.
/// </summary>
public static class SeparateRequestReader
{
    public static async Task<SeparateRequest> ReadAsync(HttpRequest request, long maxBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > maxBytes) throw TooLarge(maxBytes);
        try
        {
            // Only a multipart form is a form: clients send the JSON body under any Content-Type, form-urlencoded included.
            var multipart = request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true;
            return multipart ? await ReadForm(request, cancellationToken) : await ReadJson(request, cancellationToken);
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            throw TooLarge(maxBytes);
        }
    }

    private static async Task<SeparateRequest> ReadJson(HttpRequest request, CancellationToken cancellationToken)
    {
        JsonDocument document;
        try
        {
            document = await JsonDocument.ParseAsync(request.Body, new JsonDocumentOptions { MaxDepth = 64 }, cancellationToken);
        }
        catch (JsonException e)
        {
            throw new RequestRefusedException(400, $"the body is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new RequestRefusedException(400, "the body must be a JSON object with an \"mp3\" field");
            if (!root.TryGetProperty("mp3", out var mp3) || mp3.ValueKind != JsonValueKind.String)
                throw new RequestRefusedException(400, "\"mp3\" (the song, base64) is missing or not a string");
            var song = Base64(mp3.GetString()!);
            var model = root.TryGetProperty("model", out var m) ? Text(m, "model") : null;
            var callback = root.TryGetProperty("callback", out var c) ? ParseCallback(c) : null;
            return new SeparateRequest(CheckSong(song), model, callback);
        }
    }

    private static async Task<SeparateRequest> ReadForm(HttpRequest request, CancellationToken cancellationToken)
    {
        var form = await request.ReadFormAsync(cancellationToken);
        var file = form.Files.GetFile("mp3") ?? throw new RequestRefusedException(400, "the form has no file field \"mp3\"");
        var song = new byte[file.Length];
        await using (var stream = file.OpenReadStream())
            await stream.ReadExactlyAsync(song, cancellationToken);
        Callback? callback = null;
        if (form.TryGetValue("callback", out var text) && !string.IsNullOrWhiteSpace(text))
        {
            try
            {
                using var json = JsonDocument.Parse(text.ToString());
                callback = ParseCallback(json.RootElement);
            }
            catch (JsonException)
            {
                callback = ParseCallback(JsonDocument.Parse(JsonSerializer.Serialize(text.ToString())).RootElement); // a bare URL
            }
        }
        var model = form.TryGetValue("model", out var m) && !string.IsNullOrWhiteSpace(m) ? m.ToString() : null;
        return new SeparateRequest(CheckSong(song), model, callback);
    }

    /// <summary>{"url": ..., "data": any} (data kept verbatim), a bare URL string, or null.</summary>
    public static Callback? ParseCallback(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.String:
                return new Callback { Url = element.GetString()! };
            case JsonValueKind.Object:
                if (!element.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                    throw new RequestRefusedException(400, "callback.url is missing or not a string");
                var data = element.TryGetProperty("data", out var d) ? d.GetRawText() : null;
                return new Callback { Url = url.GetString()!, Data = data };
            default:
                throw new RequestRefusedException(400, "callback must be an object {\"url\", \"data\"}, a URL string or null");
        }
    }

    private static byte[] Base64(string text)
    {
        // Clients wrap base64 at 76 columns; some send URL-safe base64.
        var compact = string.Concat(text.Where(ch => !char.IsWhiteSpace(ch))).Replace('-', '+').Replace('_', '/');
        if (compact.Length % 4 != 0) compact = compact.PadRight(compact.Length + 4 - compact.Length % 4, '=');
        var buffer = new byte[compact.Length / 4 * 3];
        return Convert.TryFromBase64String(compact, buffer, out var written)
            ? buffer[..written]
            : throw new RequestRefusedException(400, "\"mp3\" is not valid base64");
    }

    private static string? Text(JsonElement element, string name) => element.ValueKind switch
    {
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Null => null,
        _ => throw new RequestRefusedException(400, $"\"{name}\" must be a string"),
    };

    private static byte[] CheckSong(byte[] song)
    {
        if (song.Length == 0) throw new RequestRefusedException(400, "the song is empty");
        if (!AudioSniffer.LooksLikeAudio(song.AsSpan(0, Math.Min(song.Length, 64))))
            throw new RequestRefusedException(400, "the upload is not audio (MP3, WAV, FLAC, OGG, M4A or AIFF expected)");
        return song;
    }

    private static RequestRefusedException TooLarge(long maxBytes) =>
        new(413, $"the request is larger than the {maxBytes / (1 << 20)} MiB this service accepts");
}
