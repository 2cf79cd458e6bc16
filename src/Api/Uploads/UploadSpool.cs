using MSaaS.ServiceDefaults;
using MSaaS.Storage;

namespace MSaaS.Api.Uploads;

/// <summary>
/// A song as it arrives: written to a scratch file as it is read and hashed (SHA-224) on the way, so that an upload
/// of any size holds a few buffers in memory, not the song. Disposing removes the file.
/// </summary>
public sealed class UploadSpool : IAsyncDisposable
{
    /// <summary>The kind of scratch directory uploads are kept in (<see cref="ScratchDirectories"/>).</summary>
    public const string Purpose = "upload";

    private const int HeadLength = 64;

    private readonly DirectoryInfo _directory;
    private readonly FileStream _file;
    private readonly Sha224 _sha = new();
    private readonly byte[] _head = new byte[HeadLength];
    private readonly long _maxBytes;
    private string? _hash;

    public UploadSpool(long maxBytes)
    {
        _maxBytes = maxBytes;
        _directory = ScratchDirectories.Create(Purpose);
        // Readable beside it (FileShare.Read): .NET's FileShare.None is an exclusive lock that a reader in this process
        // (the length's probe) would be refused by.
        _file = new FileStream(Path.Combine(_directory.FullName, "song"), FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read, 1 << 16,
            FileOptions.Asynchronous);
    }

    /// <summary>Bytes written so far.</summary>
    public long Length { get; private set; }

    /// <summary>The first bytes, for a look at what kind of file it is.</summary>
    public ReadOnlySpan<byte> Head => _head.AsSpan(0, (int)Math.Min(Length, HeadLength));

    /// <summary>The song's hash, once <see cref="Complete"/> was called.</summary>
    public string Hash => _hash ?? throw new InvalidOperationException("the upload is not complete");

    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken)
    {
        if (_hash is not null) throw new InvalidOperationException("the upload is complete");
        if (Length + data.Length > _maxBytes) throw new RequestRefusedException(413, $"the song is larger than the {_maxBytes >> 20} MiB this service accepts");
        if (Length < HeadLength) data.Span[..(int)Math.Min(data.Length, HeadLength - Length)].CopyTo(_head.AsSpan((int)Length));
        _sha.Append(data.Span);
        Length += data.Length;
        try
        {
            await _file.WriteAsync(data, cancellationToken);
        }
        catch (IOException)
        {
            // The scratch disk (full, failing) is this service's trouble, not a malformed request: 503, and no path named.
            throw new RequestRefusedException(503, "this service cannot keep the upload right now (its scratch space); try again later");
        }
    }

    public void Complete() => _hash ??= Convert.ToHexStringLower(_sha.Finish());

    /// <summary>The song's file, complete and flushed, for a program to read (ffprobe).</summary>
    public async Task<string> FileAsync(CancellationToken cancellationToken)
    {
        Complete();
        await _file.FlushAsync(cancellationToken);
        return _file.Name;
    }

    /// <summary>The song from its start; the stream belongs to the spool.</summary>
    public async Task<Stream> OpenReadAsync(CancellationToken cancellationToken)
    {
        Complete();
        await _file.FlushAsync(cancellationToken);
        _file.Position = 0;
        return new ReadOnlyWindow(_file);
    }

    public async ValueTask DisposeAsync()
    {
        await _file.DisposeAsync();
        try
        {
            _directory.Delete(recursive: true);
        }
        catch (IOException)
        {
            // Removed at the next start (ScratchDirectories) if this process cannot.
        }
    }

    /// <summary>Reads the spool's file without closing it: the spool does.</summary>
    private sealed class ReadOnlyWindow(FileStream file) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => file.Length;
        public override long Position { get => file.Position; set => throw new NotSupportedException(); }
        public override int Read(byte[] buffer, int offset, int count) => file.Read(buffer, offset, count);
        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => file.ReadAsync(buffer, cancellationToken);
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            file.ReadAsync(buffer, offset, count, cancellationToken);
        public override void Flush() { }
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
