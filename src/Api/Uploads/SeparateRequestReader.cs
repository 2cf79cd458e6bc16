using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Net.Http.Headers;
using MSaaS.Contracts;

namespace MSaaS.Api.Uploads;

/// <summary>
/// Reads the legacy separate request liberally and as a stream: JSON whatever the Content-Type (or none), base64 with
/// line breaks, unknown fields ignored (<see cref="JsonUploadReader"/>); or multipart/form-data with a file field
/// "mp3". The song goes to an <see cref="UploadSpool"/>, never whole into memory. Anything else is a
/// <see cref="RequestRefusedException"/> with a reason, whatever the client sent: a malformed body is the client's
/// mistake (4xx), never the service's.
/// </summary>
public static class SeparateRequestReader
{
    public const int MaxModelLength = 64;
    public const int MaxCallbackUrlLength = 2048;
    public const int MaxCallbackDataBytes = 64 * 1024;
    private const int MaxParts = 16;
    private const int MaxFieldBytes = MaxCallbackDataBytes + MaxCallbackUrlLength + 1024;

    /// <summary>
    /// Reads <paramref name="request"/>'s upload from <paramref name="body"/> (its body, or a stream over it): a song of at
    /// most <paramref name="maxSongBytes"/>, in a body of at most <see cref="ApiOptions.RequestBytesFor"/> that (base64).
    /// </summary>
    public static async Task<SeparateRequest> ReadAsync(HttpRequest request, Stream body, long maxSongBytes, CancellationToken cancellationToken)
    {
        if (request.ContentLength > ApiOptions.RequestBytesFor(maxSongBytes)) throw TooLarge(maxSongBytes);
        var song = new UploadSpool(maxSongBytes);
        try
        {
            // Only a multipart form is a form: clients send the JSON body under any Content-Type, form-urlencoded included.
            var multipart = request.ContentType?.StartsWith("multipart/form-data", StringComparison.OrdinalIgnoreCase) == true;
            var upload = multipart ? await ReadFormAsync(request.ContentType!, body, song, cancellationToken) : await JsonUploadReader.ReadAsync(body, song, cancellationToken);
            CheckSong(song);
            return upload;
        }
        catch (Exception e)
        {
            await song.DisposeAsync();
            throw e switch
            {
                RequestRefusedException or OperationCanceledException => e,
                BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge } => TooLarge(maxSongBytes),
                BadHttpRequestException bad => new RequestRefusedException(bad.StatusCode, bad.StatusCode == 408
                    ? "the request arrived too slowly" : "the request body is malformed or cut short"),
                // What the multipart reader says of a malformed form (boundary, part headers, lengths), and a body cut short.
                InvalidDataException or IOException => new RequestRefusedException(400, $"the form is malformed: {e.Message}"),
                _ => e,
            };
        }
    }

    private static async Task<SeparateRequest> ReadFormAsync(string contentType, Stream body, UploadSpool song, CancellationToken cancellationToken)
    {
        var boundary = MediaTypeHeaderValue.TryParse(contentType, out var type) ? HeaderUtilities.RemoveQuotes(type.Boundary).Value : null;
        if (string.IsNullOrEmpty(boundary)) throw new RequestRefusedException(400, "multipart/form-data needs a boundary");
        if (boundary.Length > 70) throw new RequestRefusedException(400, "the multipart boundary is longer than 70 characters");

        var reader = new MultipartReader(boundary, body) { HeadersCountLimit = 16, HeadersLengthLimit = 16 * 1024 };
        string? model = null;
        Callback? callback = null;
        var found = false;
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var parts = 0; await reader.ReadNextSectionAsync(cancellationToken) is { } section; parts++)
        {
            if (parts == MaxParts) throw new RequestRefusedException(400, $"the form has more than {MaxParts} parts");
            if (!ContentDispositionHeaderValue.TryParse(section.ContentDisposition, out var disposition)
                || !disposition.DispositionType.Equals("form-data", StringComparison.OrdinalIgnoreCase))
                throw new RequestRefusedException(400, "a form part has no Content-Disposition: form-data");
            switch (HeaderUtilities.RemoveQuotes(disposition.Name).Value)
            {
                case "mp3":
                    if (found) throw new RequestRefusedException(400, "the form has two \"mp3\" parts");
                    found = true;
                    var buffer = new byte[64 * 1024];
                    int read;
                    while ((read = await section.Body.ReadAsync(buffer, cancellationToken)) > 0)
                        await song.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                    break;
                case "model":
                    if (!seen.Add("model")) throw new RequestRefusedException(400, "the form gives \"model\" twice");
                    model = await FieldAsync(section, cancellationToken);
                    break;
                case "callback":
                    if (!seen.Add("callback")) throw new RequestRefusedException(400, "the form gives \"callback\" twice");
                    callback = ParseFormCallback(await FieldAsync(section, cancellationToken));
                    break;
                default:
                    await FieldAsync(section, cancellationToken); // read past it, within the same limit
                    break;
            }
        }
        if (!found) throw new RequestRefusedException(400, "the form has no file field \"mp3\"");
        return new SeparateRequest(song, string.IsNullOrWhiteSpace(model) ? null : model, callback);
    }

    private static async Task<string> FieldAsync(MultipartSection section, CancellationToken cancellationToken)
    {
        var bytes = new MemoryStream();
        var buffer = new byte[4096];
        int read;
        while ((read = await section.Body.ReadAsync(buffer, cancellationToken)) > 0)
        {
            if (bytes.Length + read > MaxFieldBytes) throw new RequestRefusedException(400, $"a form field is larger than {MaxFieldBytes >> 10} KiB");
            bytes.Write(buffer, 0, read);
        }
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes.GetBuffer(), 0, (int)bytes.Length);
        }
        catch (DecoderFallbackException)
        {
            throw new RequestRefusedException(400, "a form field is not UTF-8");
        }
    }

    // The form's "callback": JSON ({"url", "data"}, a string or null), or a bare URL.
    private static Callback? ParseFormCallback(string text)
    {
        if (string.IsNullOrWhiteSpace(text)) return null;
        try
        {
            using var json = JsonDocument.Parse(text);
            return ParseCallback(json.RootElement);
        }
        catch (JsonException)
        {
            return CheckCallback(new Callback { Url = text.Trim() });
        }
    }

    /// <summary>{"url": ..., "data": any} (data kept verbatim), a bare URL string, or null.</summary>
    public static Callback? ParseCallback(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Null or JsonValueKind.Undefined:
                return null;
            case JsonValueKind.String:
                return CheckCallback(new Callback { Url = Text(element, "callback")! });
            case JsonValueKind.Object:
                RefuseDuplicates(element, "callback");
                if (!element.TryGetProperty("url", out var url) || url.ValueKind != JsonValueKind.String)
                    throw new RequestRefusedException(400, "callback.url is missing or not a string");
                var data = element.TryGetProperty("data", out var d) ? d.GetRawText() : null;
                return CheckCallback(new Callback { Url = Text(url, "callback.url")!, Data = data });
            default:
                throw new RequestRefusedException(400, "callback must be an object {\"url\", \"data\"}, a URL string or null");
        }
    }

    /// <summary>
    /// Refuses an object that names a member twice: JSON readers disagree on which one counts (System.Text.Json takes
    /// the last), so one request could mean two. Only the names this service reads are quoted; the client's own
    /// callback.data is not looked into.
    /// </summary>
    internal static void RefuseDuplicates(JsonElement element, string what)
    {
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var member in element.EnumerateObject())
        {
            if (names.Add(member.Name)) continue;
            throw new RequestRefusedException(400, member.Name is "mp3" or "model" or "callback" or "url" or "data"
                ? $"{what} gives \"{member.Name}\" twice"
                : $"{what} gives a field twice");
        }
    }

    /// <summary>A string field's text; a field of another kind, or text that is not valid UTF-8, is refused.</summary>
    internal static string? Text(JsonElement element, string name)
    {
        try
        {
            return element.ValueKind switch
            {
                JsonValueKind.String => element.GetString(),
                JsonValueKind.Null => null,
                _ => throw new RequestRefusedException(400, $"\"{name}\" must be a string"),
            };
        }
        catch (InvalidOperationException)
        {
            throw new RequestRefusedException(400, $"\"{name}\" is not valid UTF-8");
        }
    }

    /// <summary>A string field's raw UTF-8 bytes, escapes resolved.</summary>
    internal static byte[] Utf8(JsonElement element, string name) => System.Text.Encoding.UTF8.GetBytes(Text(element, name) ?? "");

    private static Callback CheckCallback(Callback callback)
    {
        if (callback.Url.Length > MaxCallbackUrlLength) throw new RequestRefusedException(400, $"callback.url is longer than {MaxCallbackUrlLength} characters");
        if (callback.Data is { Length: > MaxCallbackDataBytes }) throw new RequestRefusedException(400, $"callback.data is larger than {MaxCallbackDataBytes >> 10} KiB");
        return callback;
    }

    private static void CheckSong(UploadSpool song)
    {
        if (song.Length == 0) throw new RequestRefusedException(400, "the song is empty");
        if (!AudioSniffer.LooksLikeAudio(song.Head))
            throw new RequestRefusedException(400, "the upload is not audio (MP3, WAV, FLAC, OGG, M4A or AIFF expected)");
        song.Complete();
    }

    private static RequestRefusedException TooLarge(long maxSongBytes) =>
        new(413, $"the request is larger than the {ApiOptions.RequestBytesFor(maxSongBytes) >> 20} MiB this service accepts " +
                 $"(a song of up to {maxSongBytes >> 20} MiB, in base64 in a JSON body)");
}
