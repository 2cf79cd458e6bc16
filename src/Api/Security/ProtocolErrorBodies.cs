using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using MSaaS.Api.Routes;

namespace MSaaS.Api.Security;

/// <summary>
/// Kestrel answers a request it cannot parse (a broken request line or header, a URL or headers above its limits,
/// headers that do not arrive in time) itself, before any middleware runs, with an empty body; it offers no hook for
/// that answer. This connection middleware gives those answers the body every other refusal has,
/// <c>{"reason", "status"}</c>, and one line in the refusals log. It recognises them by their exact shape (a 4xx or 5xx
/// status line, <c>Content-Length: 0</c> and <c>Connection: close</c>, nothing after the headers, in one flush):
/// the service's own answers always carry a body, so no answer of the application is touched.
/// </summary>
internal static class ProtocolErrorBodies
{
    /// <summary>The reason given for a status that Kestrel or the request's body reading raised; no setting is named.</summary>
    public static string Reason(int status) => status switch
    {
        StatusCodes.Status408RequestTimeout => "the request arrived too slowly",
        StatusCodes.Status411LengthRequired => "the request has a body without a length",
        StatusCodes.Status413PayloadTooLarge => "the request is larger than this service accepts",
        StatusCodes.Status414UriTooLong => "the URL is longer than this service accepts",
        StatusCodes.Status431RequestHeaderFieldsTooLarge => "the request's headers are too large",
        StatusCodes.Status505HttpVersionNotsupported => "this service speaks HTTP/1.0, HTTP/1.1 and HTTP/2",
        _ => "the request is malformed",
    };

    public static ListenOptions UseProtocolErrorBodies(this ListenOptions listen, ILoggerFactory loggers)
    {
        var logger = loggers.CreateLogger("MSaaS.Api.Refusals");
        listen.Use(next => async connection =>
        {
            var transport = connection.Transport;
            await using var output = new RewritingStream(transport.Output.AsStream(leaveOpen: true), connection.RemoteEndPoint?.ToString(), logger);
            var writer = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
            connection.Transport = new Duplex(transport.Input, writer);
            try
            {
                await next(connection);
            }
            finally
            {
                await writer.CompleteAsync();
                connection.Transport = transport;
            }
        });
        return listen;
    }

    private sealed class Duplex(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }

    /// <summary>Passes every byte through, except that a flush which is exactly one bodiless error answer gets a body.</summary>
    private sealed class RewritingStream(Stream inner, string? client, ILogger logger) : Stream
    {
        private const int MaxHead = 1024; // Kestrel's error answers are a few hundred bytes
        private readonly MemoryStream _held = new();

        public override bool CanRead => false;
        public override bool CanSeek => false;
        public override bool CanWrite => true;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            if (!Hold(buffer.Span)) await inner.WriteAsync(buffer, cancellationToken);
            else if (_held.Length > MaxHead) await ReleaseAsync(rewrite: false, cancellationToken);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => WriteAsync(buffer, offset, count).GetAwaiter().GetResult();

        public override async Task FlushAsync(CancellationToken cancellationToken)
        {
            if (_held.Length > 0) await ReleaseAsync(rewrite: true, cancellationToken);
            await inner.FlushAsync(cancellationToken);
        }

        public override void Flush() => FlushAsync(CancellationToken.None).GetAwaiter().GetResult();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            if (_held.Length > 0) await ReleaseAsync(rewrite: false, CancellationToken.None);
            await inner.DisposeAsync();
            await base.DisposeAsync();
        }

        // Keeps the bytes back when they are, or continue, what may be an error answer's head.
        private bool Hold(ReadOnlySpan<byte> data)
        {
            if (_held.Length == 0 && !(data.StartsWith("HTTP/1."u8) && data.Length > 9 && data[9] is (byte)'4' or (byte)'5')) return false;
            _held.Write(data);
            return true;
        }

        private async Task ReleaseAsync(bool rewrite, CancellationToken cancellationToken)
        {
            var held = _held.GetBuffer().AsMemory(0, (int)_held.Length);
            _held.SetLength(0);
            var answer = rewrite && WithBody(held.Span) is { } rewritten ? rewritten : held.ToArray();
            await inner.WriteAsync(answer, cancellationToken);
        }

        // The answer with a JSON body, or null when the head is not one of Kestrel's bodiless error answers.
        private byte[]? WithBody(ReadOnlySpan<byte> head)
        {
            if (head.Length < 13 || head.IndexOf("\r\n\r\n"u8) != head.Length - 4) return null;
            var text = System.Text.Encoding.ASCII.GetString(head[..^2]); // each line, the last one included, ends with CRLF
            var lines = text.Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            if (!int.TryParse(lines[0].AsSpan(9, 3), out var status) ||
                !lines.Contains("Content-Length: 0", StringComparer.OrdinalIgnoreCase) ||
                !lines.Contains("Connection: close", StringComparer.OrdinalIgnoreCase))
                return null;
            var reason = Reason(status);
            logger.LogInformation("a request from {Client} that could not be read: {Status} {Reason}", client, status, reason);
            var body = JsonSerializer.SerializeToUtf8Bytes(new ErrorReply(reason, status), JsonSerializerOptions.Web);
            var answer = new StringBuilder();
            foreach (var line in lines.Where(l => !l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)))
                answer.Append(line).Append("\r\n");
            answer.Append("Content-Type: application/json; charset=utf-8\r\nContent-Length: ").Append(body.Length).Append("\r\n\r\n");
            return [.. System.Text.Encoding.ASCII.GetBytes(answer.ToString()), .. body];
        }
    }
}
