using System.Security.Cryptography;
using System.Text;

namespace MSaaS.Storage;

/// <summary>Songs are content-addressed: the hash names the objects, the id correlates the saga.</summary>
public static class SongHash
{
    /// <summary>Lower-case hex SHA-224 of the song's bytes (56 characters).</summary>
    public static string Of(ReadOnlySpan<byte> song) => Sha224.HashHex(song);

    /// <summary>The same of a song read from <paramref name="song"/> to its end, a block at a time.</summary>
    public static async Task<string> OfAsync(Stream song, CancellationToken cancellationToken = default)
    {
        var sha = new Sha224();
        var buffer = new byte[1 << 16];
        int read;
        while ((read = await song.ReadAsync(buffer, cancellationToken)) > 0) sha.Append(buffer.AsSpan(0, read));
        return Convert.ToHexStringLower(sha.Finish());
    }

    /// <summary>The saga correlation id of a song: a name-based GUID of its hash (RFC 9562 version 8, from SHA-256).</summary>
    public static Guid Id(string songHash)
    {
        var digest = SHA256.HashData(Encoding.ASCII.GetBytes("msaas-song:" + songHash.ToLowerInvariant()));
        digest[6] = (byte)((digest[6] & 0x0F) | 0x80);
        digest[8] = (byte)((digest[8] & 0x3F) | 0x80);
        return new Guid(digest.AsSpan(0, 16), bigEndian: true);
    }

    /// <summary>56 lower-case hex digits.</summary>
    public static bool IsValid(string? text) =>
        text is { Length: 56 } && text.All(c => c is >= '0' and <= '9' or >= 'a' and <= 'f');
}
