namespace Engine.Protocol;

/// <summary>Protobuf wire types Engine reads. Groups (3, 4) are obsolete and rejected as malformed.</summary>
internal enum WireType
{
    Varint = 0,
    Fixed64 = 1,
    LengthDelimited = 2,
    Fixed32 = 5,
}

/// <summary>
/// A minimal protobuf wire-format reader over a span: fields come back as slices of the input, so hot paths parse
/// messages without allocating. Google.Protobuf's generated classes remain the reference for every message; this reader
/// exists because their parser allocates a ByteString per bytes field. Every method returns false on malformed input.
/// </summary>
internal ref struct ProtoSpanReader
{
    private readonly ReadOnlySpan<byte> _buffer;
    private int _position;

    public ProtoSpanReader(ReadOnlySpan<byte> buffer)
    {
        _buffer = buffer;
        _position = 0;
    }

    public readonly bool End => _position >= _buffer.Length;

    /// <summary>Bytes consumed so far.</summary>
    public readonly int Position => _position;

    public bool TryReadTag(out int field, out WireType wireType)
    {
        field = 0;
        wireType = default;
        if (!TryReadVarint(out ulong tag) || tag > uint.MaxValue)
        {
            return false;
        }

        field = (int)(tag >> 3);
        int wt = (int)(tag & 7);
        if (field == 0 || wt is not (0 or 1 or 2 or 5))
        {
            return false;
        }

        wireType = (WireType)wt;
        return true;
    }

    public bool TryReadVarint(out ulong value)
    {
        value = 0;
        for (int shift = 0; shift < 64; shift += 7)
        {
            if (_position >= _buffer.Length)
            {
                return false;
            }

            byte b = _buffer[_position++];
            if (shift == 63 && b > 1)
            {
                return false; // more than 64 bits
            }

            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return true;
            }
        }

        return false;
    }

    public bool TryReadBytes(out ReadOnlySpan<byte> value)
    {
        value = default;
        if (!TryReadVarint(out ulong length) || length > (ulong)(_buffer.Length - _position))
        {
            return false;
        }

        value = _buffer.Slice(_position, (int)length);
        _position += (int)length;
        return true;
    }

    /// <summary>Skips the value of a field whose tag was just read.</summary>
    public bool TrySkip(WireType wireType)
    {
        switch (wireType)
        {
            case WireType.Varint:
                return TryReadVarint(out _);
            case WireType.Fixed64:
                return Advance(8);
            case WireType.Fixed32:
                return Advance(4);
            case WireType.LengthDelimited:
                return TryReadBytes(out _);
            default:
                return false;
        }
    }

    private bool Advance(int count)
    {
        if (_buffer.Length - _position < count)
        {
            return false;
        }

        _position += count;
        return true;
    }
}
