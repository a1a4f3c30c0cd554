namespace Engine.Protocol;

/// <summary>
/// A minimal protobuf wire-format writer into a span, for the hot messages Engine encodes per heartbeat. It writes fields in
/// field-number order and omits default values, exactly as Google.Protobuf does, so both produce identical bytes (pinned by
/// the golden tests).
/// </summary>
internal ref struct ProtoSpanWriter
{
    private readonly Span<byte> _buffer;
    private int _position;

    public ProtoSpanWriter(Span<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly int Position => _position;

    public readonly Span<byte> Written => _buffer[.._position];

    public static int VarintSize(ulong value)
    {
        int size = 1;
        while (value >= 0x80)
        {
            value >>= 7;
            size++;
        }

        return size;
    }

    /// <summary>Size of a varint field (0 when the value is the default and so omitted).</summary>
    public static int VarintFieldSize(int field, ulong value) => value == 0 ? 0 : VarintSize((ulong)field << 3) + VarintSize(value);

    /// <summary>Size of a length-delimited field (0 when empty and so omitted).</summary>
    public static int BytesFieldSize(int field, int length) =>
        length == 0 ? 0 : VarintSize((ulong)field << 3) + VarintSize((ulong)length) + length;

    /// <summary>Size of an embedded-message field; present even when the message is empty.</summary>
    public static int MessageFieldSize(int field, int length) => VarintSize((ulong)field << 3) + VarintSize((ulong)length) + length;

    public void WriteVarint(ulong value)
    {
        while (value >= 0x80)
        {
            _buffer[_position++] = (byte)(value | 0x80);
            value >>= 7;
        }

        _buffer[_position++] = (byte)value;
    }

    public void WriteVarintField(int field, ulong value)
    {
        if (value != 0)
        {
            WriteVarint((ulong)field << 3);
            WriteVarint(value);
        }
    }

    public void WriteBytesField(int field, ReadOnlySpan<byte> value)
    {
        if (!value.IsEmpty)
        {
            WriteVarint(((ulong)field << 3) | (ulong)WireType.LengthDelimited);
            WriteVarint((ulong)value.Length);
            value.CopyTo(_buffer[_position..]);
            _position += value.Length;
        }
    }

    /// <summary>Starts an embedded message of known length; the caller writes exactly <paramref name="length"/> bytes next.</summary>
    public void WriteMessageHeader(int field, int length)
    {
        WriteVarint(((ulong)field << 3) | (ulong)WireType.LengthDelimited);
        WriteVarint((ulong)length);
    }
}
