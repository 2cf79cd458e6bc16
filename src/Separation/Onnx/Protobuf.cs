using System.Buffers;
using System.Buffers.Binary;

namespace MSaaS.Separation.Onnx;

/// <summary>One field of a protobuf message: its number, wire type and where its value lies in the message bytes.</summary>
internal readonly record struct ProtoField(int Number, int WireType, long Varint, int Start, int Length)
{
    public const int VarintType = 0;
    public const int LengthDelimitedType = 2;
    public const int Fixed32Type = 5;

    /// <summary>The whole field (tag and value) as it sits in the buffer, for copying it unchanged.</summary>
    public int TagStart { get; init; }

    public int End => Start + Length;
}

/// <summary>
/// The protobuf wire format, as much of it as reading and rewriting ONNX model files needs: iterate the fields of
/// a message without decoding them, and write fields (verbatim slices, strings, varints, nested messages).
/// </summary>
internal static class Protobuf
{
    /// <summary>The fields of the message in <paramref name="buffer"/>[<paramref name="start"/>, <paramref name="end"/>).</summary>
    public static IEnumerable<ProtoField> Fields(byte[] buffer, int start, int end)
    {
        var at = start;
        while (at < end)
        {
            var tagStart = at;
            var key = ReadVarint(buffer, ref at);
            var number = (int)(key >> 3);
            var wireType = (int)(key & 7);
            switch (wireType)
            {
                case ProtoField.VarintType:
                    var value = ReadVarint(buffer, ref at);
                    yield return new ProtoField(number, wireType, (long)value, at, 0) { TagStart = tagStart };
                    break;
                case 1: // fixed64
                    yield return new ProtoField(number, wireType, 0, at, 8) { TagStart = tagStart };
                    at += 8;
                    break;
                case ProtoField.LengthDelimitedType:
                    var length = checked((int)ReadVarint(buffer, ref at));
                    if (length < 0 || at + length > end) throw new InvalidDataException("a protobuf field runs past its message");
                    yield return new ProtoField(number, wireType, 0, at, length) { TagStart = tagStart };
                    at += length;
                    break;
                case ProtoField.Fixed32Type:
                    yield return new ProtoField(number, wireType, 0, at, 4) { TagStart = tagStart };
                    at += 4;
                    break;
                default:
                    throw new InvalidDataException($"unsupported protobuf wire type {wireType}");
            }
            if (at > end) throw new InvalidDataException("a protobuf field runs past its message");
        }
    }

    public static string String(byte[] buffer, ProtoField field) => System.Text.Encoding.UTF8.GetString(buffer, field.Start, field.Length);

    /// <summary>A float field's value (wire type fixed32, little-endian).</summary>
    public static float Float(byte[] buffer, ProtoField field) =>
        field.WireType == ProtoField.Fixed32Type ? BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(field.Start, 4))
            : throw new InvalidDataException($"protobuf field {field.Number} is not a float");

    /// <summary>
    /// Appends the values of a repeated integer field: one value (wire type varint) or a packed run of them
    /// (length-delimited), as a writer may use either.
    /// </summary>
    public static void Varints(byte[] buffer, ProtoField field, List<long> values)
    {
        if (field.WireType == ProtoField.VarintType)
        {
            values.Add(field.Varint);
            return;
        }
        if (field.WireType != ProtoField.LengthDelimitedType) throw new InvalidDataException($"protobuf field {field.Number} is not an integer");
        var at = field.Start;
        while (at < field.End) values.Add((long)ReadVarint(buffer, ref at));
        if (at != field.End) throw new InvalidDataException("a packed protobuf field runs past its end");
    }

    /// <summary>
    /// Appends the values of a repeated float field: one value (fixed32) or a packed run of them (length-delimited).
    /// </summary>
    public static void Floats(byte[] buffer, ProtoField field, List<float> values)
    {
        if (field.WireType == ProtoField.Fixed32Type)
        {
            values.Add(Float(buffer, field));
            return;
        }
        if (field.WireType != ProtoField.LengthDelimitedType || field.Length % 4 != 0)
            throw new InvalidDataException($"protobuf field {field.Number} is not a run of floats");
        for (var at = field.Start; at < field.End; at += 4) values.Add(BinaryPrimitives.ReadSingleLittleEndian(buffer.AsSpan(at, 4)));
    }

    private static ulong ReadVarint(byte[] buffer, ref int at)
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            if (at >= buffer.Length) throw new InvalidDataException("a protobuf varint runs past the end of the data");
            var b = buffer[at++];
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("a protobuf varint is longer than 10 bytes");
    }
}

/// <summary>
/// Reads the fields of protobuf messages one at a time from a seekable stream, so that a large value (an ONNX file's
/// weights) is skipped by seeking instead of read.
/// </summary>
internal sealed class ProtoStreamReader(Stream stream)
{
    /// <summary>The next field's number and wire type; false once the message ending at <paramref name="end"/> is read.</summary>
    public bool Next(long end, out int number, out int wireType)
    {
        (number, wireType) = (0, 0);
        if (stream.Position >= end) return false;
        var key = ReadVarint();
        (number, wireType) = ((int)(key >> 3), (int)(key & 7));
        return true;
    }

    /// <summary>
    /// Reads a length-delimited field's length; returns where its value ends, which must be within the message that
    /// holds it (ending at <paramref name="parentEnd"/>).
    /// </summary>
    public long ValueEnd(long parentEnd)
    {
        var length = ReadVarint();
        if (length > (ulong)(Math.Min(parentEnd, stream.Length) - stream.Position))
            throw new InvalidDataException("a protobuf field runs past the message that holds it");
        return stream.Position + (long)length;
    }

    /// <summary>A length-delimited field's value, read whole: at most <paramref name="maxLength"/> bytes.</summary>
    public byte[] ReadValue(long parentEnd, int maxLength)
    {
        var end = ValueEnd(parentEnd);
        if (end - stream.Position > maxLength) throw new InvalidDataException($"a protobuf field is larger than the {maxLength} bytes expected of it");
        var value = new byte[end - stream.Position];
        stream.ReadExactly(value);
        return value;
    }

    /// <summary>Moves past the value of a field of <paramref name="wireType"/> whose tag was just read.</summary>
    public void Skip(int wireType, long parentEnd)
    {
        switch (wireType)
        {
            case ProtoField.VarintType: ReadVarint(); break;
            case 1: SeekTo(stream.Position + 8, parentEnd); break; // fixed64
            case ProtoField.LengthDelimitedType: SeekTo(ValueEnd(parentEnd), parentEnd); break;
            case ProtoField.Fixed32Type: SeekTo(stream.Position + 4, parentEnd); break;
            default: throw new InvalidDataException($"unsupported protobuf wire type {wireType}");
        }
        if (stream.Position > parentEnd) throw new InvalidDataException("a protobuf field runs past the message that holds it");
    }

    /// <summary>Continues at <paramref name="position"/>, forward and within the message ending at <paramref name="parentEnd"/>.</summary>
    public void SeekTo(long position, long parentEnd)
    {
        if (position < stream.Position || position > Math.Min(parentEnd, stream.Length))
            throw new InvalidDataException("a protobuf field runs past the message that holds it");
        stream.Position = position;
    }

    private ulong ReadVarint()
    {
        ulong result = 0;
        for (var shift = 0; shift < 64; shift += 7)
        {
            var b = stream.ReadByte();
            if (b < 0) throw new InvalidDataException("a protobuf varint runs past the end of the file");
            result |= (ulong)(b & 0x7f) << shift;
            if (b < 0x80) return result;
        }
        throw new InvalidDataException("a protobuf varint is longer than 10 bytes");
    }
}

/// <summary>Writes protobuf fields into a growing buffer.</summary>
internal sealed class ProtoWriter
{
    private readonly ArrayBufferWriter<byte> _buffer = new();

    public int Length => _buffer.WrittenCount;

    public ReadOnlySpan<byte> WrittenSpan => _buffer.WrittenSpan;

    public ReadOnlyMemory<byte> WrittenMemory => _buffer.WrittenMemory;

    /// <summary>Copies a field of another message unchanged, tag included.</summary>
    public void Raw(byte[] source, ProtoField field) => Write(source.AsSpan(field.TagStart, field.End - field.TagStart));

    /// <summary>Appends what another writer holds, as it is.</summary>
    public void Raw(ProtoWriter fields) => Write(fields.WrittenSpan);

    public void Varint(int number, long value)
    {
        Key(number, ProtoField.VarintType);
        WriteVarint((ulong)value);
    }

    public void String(int number, string value) => Bytes(number, System.Text.Encoding.UTF8.GetBytes(value));

    /// <summary>A float field (wire type fixed32).</summary>
    public void Float(int number, float value)
    {
        Key(number, ProtoField.Fixed32Type);
        Span<byte> bytes = stackalloc byte[4];
        BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
        Write(bytes);
    }

    /// <summary>A repeated integer field, packed (one length-delimited run of varints).</summary>
    public void PackedVarints(int number, IEnumerable<long> values)
    {
        var packed = new ProtoWriter();
        foreach (var value in values) packed.WriteVarint((ulong)value);
        Bytes(number, packed.WrittenSpan);
    }

    public void Bytes(int number, ReadOnlySpan<byte> value)
    {
        Key(number, ProtoField.LengthDelimitedType);
        WriteVarint((ulong)value.Length);
        Write(value);
    }

    public void Message(int number, ProtoWriter message) => Bytes(number, message.WrittenSpan);

    public void WriteTo(Stream stream) => stream.Write(_buffer.WrittenSpan);

    /// <summary>The key and length of a length-delimited field whose value the caller writes itself.</summary>
    public void Header(int number, int length)
    {
        Key(number, ProtoField.LengthDelimitedType);
        WriteVarint((ulong)length);
    }

    private void Key(int number, int wireType) => WriteVarint(((ulong)number << 3) | (uint)wireType);

    private void WriteVarint(ulong value)
    {
        Span<byte> bytes = stackalloc byte[10];
        var n = 0;
        while (value >= 0x80)
        {
            bytes[n++] = (byte)(value | 0x80);
            value >>= 7;
        }
        bytes[n++] = (byte)value;
        Write(bytes[..n]);
    }

    private void Write(ReadOnlySpan<byte> bytes)
    {
        bytes.CopyTo(_buffer.GetSpan(bytes.Length));
        _buffer.Advance(bytes.Length);
    }
}
