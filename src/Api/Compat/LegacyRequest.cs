using System.Text.Json;
using MSaaS.Api.Uploads;
using MSaaS.Contracts;
using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Api.Compat;

/// <summary>A work request from the legacy Redis list "toWorker", in any of the shapes producers push.</summary>
public sealed record LegacyRequest(string SongHash, StoredObject Upload, string? Model, Callback? Callback, string? OutputBucket)
{
    /// <summary>
    /// Accepts {"songhash"|"hash"|"song_hash", "model"?, "callback"?}, with "bucket" + "object"|"key" or
    /// "input_bucket" + "input_object" naming where the song is (default queue/&lt;hash&gt;.mp3), and the callback as
    /// {"url", "data"}, a bare URL string, or "callback_url" + "callback_data".
    /// </summary>
    public static LegacyRequest Parse(string text)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(text);
        }
        catch (JsonException e)
        {
            throw new FormatException($"not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new FormatException("not a JSON object");
            var hash = (String(root, "songhash") ?? String(root, "hash") ?? String(root, "song_hash"))?.Trim().ToLowerInvariant()
                       ?? throw new FormatException("no songhash, hash or song_hash");
            if (!MSaaS.Storage.SongHash.IsValid(hash)) throw new FormatException($"{ClientText.Quote(hash)} is not a SHA-224 song hash");

            var bucket = String(root, "bucket") ?? String(root, "input_bucket");
            var name = String(root, "object") ?? String(root, "key") ?? String(root, "input_object");
            var upload = SongObjects.Upload(hash);
            var stored = new StoredObject { Bucket = bucket ?? upload.Bucket, Name = name ?? upload.Name };
            try
            {
                _ = new ObjectKey(stored.Bucket, stored.Name);
            }
            catch (ArgumentException e)
            {
                throw new FormatException(e.Message);
            }
            if (!SongObjects.IsClientBucket(stored.Bucket)) throw new FormatException($"bucket {stored.Bucket} is the service's own, not a client's");

            Callback? callback;
            try
            {
                callback = root.TryGetProperty("callback", out var c) ? SeparateRequestReader.ParseCallback(c)
                    : String(root, "callback_url") is { } url ? new Callback { Url = url, Data = root.TryGetProperty("callback_data", out var d) ? d.GetRawText() : null }
                    : null;
            }
            catch (RequestRefusedException e)
            {
                throw new FormatException(e.Message);
            }
            return new LegacyRequest(hash, stored, String(root, "model"), callback, String(root, "output_bucket"));
        }
    }

    private static string? String(JsonElement root, string name) =>
        root.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
