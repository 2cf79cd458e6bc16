using System.Buffers.Binary;
using System.Numerics;

namespace MSaaS.Storage;

/// <summary>
/// SHA-224 (FIPS 180-4: SHA-256 with its own initial values, cut to 28 bytes), which .NET does not provide.
/// Incremental, so an upload can be hashed as it streams in.
/// </summary>
public sealed class Sha224
{
    public const int HashSize = 28;

    private static readonly uint[] K =
    [
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
        0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
        0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
        0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
        0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
        0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
        0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
    ];

    private readonly uint[] _state = [0xc1059ed8, 0x367cd507, 0x3070dd17, 0xf70e5939, 0xffc00b31, 0x68581511, 0x64f98fa7, 0xbefa4fa4];
    private readonly byte[] _block = new byte[64];
    private readonly uint[] _w = new uint[64];
    private int _filled;
    private long _length;

    public static byte[] Hash(ReadOnlySpan<byte> data)
    {
        var sha = new Sha224();
        sha.Append(data);
        return sha.Finish();
    }

    /// <summary>Lower-case hex, as <c>sha224sum</c> prints it.</summary>
    public static string HashHex(ReadOnlySpan<byte> data) => Convert.ToHexStringLower(Hash(data));

    public void Append(ReadOnlySpan<byte> data)
    {
        _length += data.Length;
        while (data.Length > 0)
        {
            var n = Math.Min(64 - _filled, data.Length);
            data[..n].CopyTo(_block.AsSpan(_filled));
            _filled += n;
            data = data[n..];
            if (_filled == 64)
            {
                Compress(_block);
                _filled = 0;
            }
        }
    }

    public byte[] Finish()
    {
        var bits = _length * 8;
        Span<byte> padding = stackalloc byte[72];
        padding.Clear();
        padding[0] = 0x80;
        var padLength = (_filled < 56 ? 56 : 120) - _filled;
        BinaryPrimitives.WriteInt64BigEndian(padding[padLength..], bits);
        Append(padding[..(padLength + 8)]);
        var hash = new byte[HashSize];
        for (var i = 0; i < 7; i++) BinaryPrimitives.WriteUInt32BigEndian(hash.AsSpan(4 * i), _state[i]);
        return hash;
    }

    private void Compress(ReadOnlySpan<byte> block)
    {
        for (var i = 0; i < 16; i++) _w[i] = BinaryPrimitives.ReadUInt32BigEndian(block[(4 * i)..]);
        for (var i = 16; i < 64; i++)
        {
            var s0 = BitOperations.RotateRight(_w[i - 15], 7) ^ BitOperations.RotateRight(_w[i - 15], 18) ^ (_w[i - 15] >> 3);
            var s1 = BitOperations.RotateRight(_w[i - 2], 17) ^ BitOperations.RotateRight(_w[i - 2], 19) ^ (_w[i - 2] >> 10);
            _w[i] = _w[i - 16] + s0 + _w[i - 7] + s1;
        }
        uint a = _state[0], b = _state[1], c = _state[2], d = _state[3], e = _state[4], f = _state[5], g = _state[6], h = _state[7];
        for (var i = 0; i < 64; i++)
        {
            var t1 = h + (BitOperations.RotateRight(e, 6) ^ BitOperations.RotateRight(e, 11) ^ BitOperations.RotateRight(e, 25))
                     + ((e & f) ^ (~e & g)) + K[i] + _w[i];
            var t2 = (BitOperations.RotateRight(a, 2) ^ BitOperations.RotateRight(a, 13) ^ BitOperations.RotateRight(a, 22))
                     + ((a & b) ^ (a & c) ^ (b & c));
            (h, g, f, e, d, c, b, a) = (g, f, e, d + t1, c, b, a, t1 + t2);
        }
        _state[0] += a; _state[1] += b; _state[2] += c; _state[3] += d;
        _state[4] += e; _state[5] += f; _state[6] += g; _state[7] += h;
    }
}
