using System.Buffers;
using System.Buffers.Text;

namespace MSaaS.Api.Uploads;

/// <summary>
/// Decodes base64 as it arrives, in any cut, into an <see cref="UploadSpool"/>: standard or URL-safe alphabet,
/// whitespace (clients wrap at 76 columns) ignored, padding optional. Anything else is a
/// <see cref="RequestRefusedException"/>.
/// </summary>
internal sealed class Base64Sink(UploadSpool spool)
{
    private const int Block = 16 * 1024; // base64 characters decoded at a time (a multiple of 4)

    private readonly byte[] _pending = new byte[Block + 4];
    private readonly byte[] _decoded = new byte[Block / 4 * 3];
    private int _count;
    private int _padding;

    /// <summary>Takes base64 characters; whitespace is skipped.</summary>
    public async ValueTask AddAsync(ReadOnlyMemory<byte> characters, CancellationToken cancellationToken)
    {
        for (var i = 0; i < characters.Length; i++)
        {
            if (Add(characters.Span[i])) await DecodeAsync(Block, isFinalBlock: false, cancellationToken);
        }
    }

    /// <summary>Takes one base64 character; whitespace is skipped.</summary>
    public async ValueTask AddAsync(byte c, CancellationToken cancellationToken)
    {
        if (Add(c)) await DecodeAsync(Block, isFinalBlock: false, cancellationToken);
    }

    // Takes one character; true when a whole block waits to be decoded.
    private bool Add(byte c)
    {
        switch (c)
        {
            case (byte)' ' or (byte)'\n' or (byte)'\r' or (byte)'\t':
                return false;
            case (byte)'=':
                if (++_padding > 2) throw Invalid();
                break;
            case (byte)'-' or (byte)'_' or (>= (byte)'A' and <= (byte)'Z') or (>= (byte)'a' and <= (byte)'z') or (>= (byte)'0' and <= (byte)'9') or (byte)'+' or (byte)'/':
                if (_padding > 0) throw Invalid(); // nothing after the padding
                c = c switch { (byte)'-' => (byte)'+', (byte)'_' => (byte)'/', _ => c };
                break;
            default:
                throw Invalid();
        }
        _pending[_count++] = c;
        return _count == Block && _padding == 0;
    }

    /// <summary>Decodes what is left, padding it to whole quads as the clients that drop padding expect.</summary>
    public async ValueTask CompleteAsync(CancellationToken cancellationToken)
    {
        while (_count % 4 != 0)
        {
            if (_count % 4 == 1) throw Invalid();
            _pending[_count++] = (byte)'=';
        }
        if (_count > 0) await DecodeAsync(_count, isFinalBlock: true, cancellationToken);
    }

    private async ValueTask DecodeAsync(int length, bool isFinalBlock, CancellationToken cancellationToken)
    {
        var status = Base64.DecodeFromUtf8(_pending.AsSpan(0, length), _decoded, out var consumed, out var written, isFinalBlock);
        if (status != OperationStatus.Done || consumed != length) throw Invalid();
        _count = 0;
        await spool.WriteAsync(_decoded.AsMemory(0, written), cancellationToken);
    }

    private static RequestRefusedException Invalid() => new(400, "\"mp3\" is not valid base64");
}
