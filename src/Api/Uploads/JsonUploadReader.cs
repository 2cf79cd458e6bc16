using System.Buffers;
using System.Text.Json;

namespace MSaaS.Api.Uploads;

/// <summary>
/// Reads the legacy JSON upload, <c>{"mp3": "&lt;base64&gt;", "model": ..., "callback": ...}</c>, as it streams in: the
/// top-level "mp3" string is decoded straight into an <see cref="UploadSpool"/> while the rest of the document (its
/// other fields, with "mp3" left as an empty string) is kept and then parsed as JSON. Memory stays at a few buffers
/// whatever the song's size, and the document is still checked whole: a malformed one is refused, and its song
/// thrown away.
/// </summary>
internal static class JsonUploadReader
{
    /// <summary>How large the document may be without its "mp3" value.</summary>
    public const int MaxOtherFieldsBytes = 1 << 20;

    public static async Task<SeparateRequest> ReadAsync(Stream body, UploadSpool song, CancellationToken cancellationToken)
    {
        var scanner = new Scanner(new Base64Sink(song));
        var buffer = new byte[64 * 1024];
        int read;
        while ((read = await body.ReadAsync(buffer, cancellationToken)) > 0)
            await scanner.FeedAsync(buffer.AsMemory(0, read), cancellationToken);
        var rest = scanner.Finish();

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(rest, new JsonDocumentOptions { MaxDepth = 64 });
        }
        catch (JsonException e)
        {
            throw new RequestRefusedException(400, $"the body is not valid JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object) throw new RequestRefusedException(400, "the body must be a JSON object with an \"mp3\" field");
            SeparateRequestReader.RefuseDuplicates(root, "the body");
            if (!root.TryGetProperty("mp3", out var mp3) || mp3.ValueKind != JsonValueKind.String)
                throw new RequestRefusedException(400, "\"mp3\" (the song, base64) is missing or not a string");
            if (scanner.SongFound) await scanner.Sink.CompleteAsync(cancellationToken);
            else await DecodeSmallAsync(mp3, scanner.Sink, cancellationToken); // "mp3" written with escapes in its name
            var model = root.TryGetProperty("model", out var m) ? SeparateRequestReader.Text(m, "model") : null;
            var callback = root.TryGetProperty("callback", out var c) ? SeparateRequestReader.ParseCallback(c) : null;
            return new SeparateRequest(song, model, callback);
        }
    }

    private static async Task DecodeSmallAsync(JsonElement mp3, Base64Sink sink, CancellationToken cancellationToken)
    {
        foreach (var b in SeparateRequestReader.Utf8(mp3, "mp3")) await sink.AddAsync(b, cancellationToken);
        await sink.CompleteAsync(cancellationToken);
    }

    /// <summary>
    /// A byte-level pass over the JSON that finds the value of the top-level "mp3" member and feeds it to the sink,
    /// copying everything else. It tracks only what it must (nesting depth, strings and their escapes, member names
    /// at depth 1); the JSON parser checks the rest afterwards.
    /// </summary>
    private sealed class Scanner(Base64Sink sink)
    {
        private readonly ArrayBufferWriter<byte> _rest = new(4096);
        private readonly ArrayBufferWriter<byte> _name = new(16);
        private int _depth;
        private bool _inString;
        private bool _escape;
        private bool _expectName;      // at depth 1, the next string is a member name
        private bool _nameIsMp3;       // the last member name read at depth 1 was "mp3"
        private bool _mp3Next;         // after "mp3" and its colon: a string here is the song
        private bool _expectNameString; // the string being read is a member name at depth 1
        private bool _inSong;
        private int _unicode = -1;     // hex digits left of a \uXXXX escape inside the song
        private int _unicodeValue;
        private int _byteOrderMark;    // bytes of a leading UTF-8 byte order mark passed so far; -1 once past the start

        private static ReadOnlySpan<byte> Utf8ByteOrderMark => [0xEF, 0xBB, 0xBF];

        public Base64Sink Sink { get; } = sink;

        public bool SongFound { get; private set; }

        public async ValueTask FeedAsync(ReadOnlyMemory<byte> chunk, CancellationToken cancellationToken)
        {
            for (var i = 0; i < chunk.Length; i++)
            {
                if (_inSong && _unicode < 0 && !_escape)
                {
                    // The song's plain characters up to the next quote or escape, in one go.
                    var run = chunk.Span[i..].IndexOfAny((byte)'"', (byte)'\\');
                    var end = run < 0 ? chunk.Length : i + run;
                    await Sink.AddAsync(chunk[i..end], cancellationToken);
                    if (run < 0) return;
                    i = end;
                }
                var b = chunk.Span[i];
                if (_byteOrderMark >= 0)
                {
                    // Some clients write one before the JSON (Windows' UTF-8 writers do); RFC 8259 lets a parser ignore it.
                    if (b == Utf8ByteOrderMark[_byteOrderMark])
                    {
                        if (++_byteOrderMark == Utf8ByteOrderMark.Length) _byteOrderMark = -1;
                        continue;
                    }
                    foreach (var kept in Utf8ByteOrderMark[.._byteOrderMark]) Keep(kept); // not one after all: the parser judges
                    _byteOrderMark = -1;
                }
                if (_inSong)
                {
                    await SongByteAsync(b, cancellationToken);
                    continue;
                }
                Keep(b);
                if (_inString)
                {
                    if (_escape) _escape = false;
                    else if (b == '\\') _escape = true;
                    else if (b == '"') EndString();
                    if (_inString && _depth == 1 && _expectNameString) _name.Write([b]);
                    continue;
                }
                switch (b)
                {
                    case (byte)'"':
                        if (_mp3Next && !SongFound)
                        {
                            _inSong = true;
                            SongFound = true;
                            _mp3Next = false;
                            continue;
                        }
                        _inString = true;
                        _expectNameString = _depth == 1 && _expectName;
                        _name.Clear();
                        break;
                    case (byte)'{' or (byte)'[':
                        _depth++;
                        _expectName = b == '{' && _depth == 1;
                        _mp3Next = false;
                        break;
                    case (byte)'}' or (byte)']':
                        _depth--;
                        _mp3Next = false;
                        break;
                    case (byte)',':
                        _expectName = _depth == 1;
                        _mp3Next = false;
                        break;
                    case (byte)':':
                        _mp3Next = _depth == 1 && _nameIsMp3;
                        _nameIsMp3 = false;
                        break;
                    case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t':
                        break;
                    default:
                        _mp3Next = false;
                        break;
                }
            }
        }

        public byte[] Finish()
        {
            if (_inSong) throw new RequestRefusedException(400, "the body ends inside \"mp3\"");
            return _rest.WrittenSpan.ToArray();
        }

        private void EndString()
        {
            _inString = false;
            if (!_expectNameString) return;
            _expectName = false;
            _expectNameString = false;
            _nameIsMp3 = _name.WrittenSpan.SequenceEqual("mp3"u8);
            if (_nameIsMp3 && SongFound) throw new RequestRefusedException(400, "\"mp3\" is given twice");
        }

        // Inside the song's string: base64, with the JSON escapes a client may use (\n, \r, \t, \/, \uXXXX).
        private async ValueTask SongByteAsync(byte b, CancellationToken cancellationToken)
        {
            if (_unicode >= 0)
            {
                var digit = HexValue(b);
                if (digit < 0) throw new RequestRefusedException(400, "\"mp3\" has a malformed \\u escape");
                _unicodeValue = _unicodeValue * 16 + digit;
                if (--_unicode == 0)
                {
                    _unicode = -1;
                    if (_unicodeValue > 127) throw new RequestRefusedException(400, "\"mp3\" is not valid base64");
                    await Sink.AddAsync((byte)_unicodeValue, cancellationToken);
                }
                return;
            }
            if (_escape)
            {
                _escape = false;
                switch (b)
                {
                    case (byte)'n' or (byte)'r' or (byte)'t' or (byte)'b' or (byte)'f':
                        return;
                    case (byte)'/':
                        await Sink.AddAsync(b, cancellationToken);
                        return;
                    case (byte)'u':
                        (_unicode, _unicodeValue) = (4, 0);
                        return;
                    default:
                        throw new RequestRefusedException(400, "\"mp3\" is not valid base64");
                }
            }
            switch (b)
            {
                case (byte)'\\':
                    _escape = true;
                    return;
                case (byte)'"':
                    _inSong = false;
                    Keep(b); // with the opening quote kept before, the document has "mp3": "" in its place
                    return;
                default:
                    await Sink.AddAsync(b, cancellationToken);
                    return;
            }
        }

        private void Keep(byte b)
        {
            if (_rest.WrittenCount >= MaxOtherFieldsBytes)
                throw new RequestRefusedException(413, $"the request's fields besides \"mp3\" are larger than {MaxOtherFieldsBytes >> 10} KiB");
            _rest.GetSpan(1)[0] = b;
            _rest.Advance(1);
        }

        private static int HexValue(byte b) => b switch
        {
            >= (byte)'0' and <= (byte)'9' => b - '0',
            >= (byte)'a' and <= (byte)'f' => b - 'a' + 10,
            >= (byte)'A' and <= (byte)'F' => b - 'A' + 10,
            _ => -1,
        };
    }
}
