namespace Engine.Transport;

/// <summary>Kinds of datagram.</summary>
internal enum DatagramType : byte
{
    /// <summary>The body is one or more [varint length][Envelope] records (see docs/PROTOCOL.md).</summary>
    Envelopes = 1,
}

/// <summary>Why a datagram was dropped.</summary>
internal enum DatagramError
{
    None = 0,
    Truncated,
    BadMagic,
    BadVersion,
    UnknownType,
    TooLarge,
}

/// <summary>
/// The 4-byte datagram header: magic 'E' 'G' (0x45 0x47), version, type. The body follows and runs to the end of the datagram.
/// </summary>
internal static class DatagramHeader
{
    public const int Size = 4;
    public const byte Magic0 = 0x45;
    public const byte Magic1 = 0x47;
    public const byte CurrentVersion = 1;

    /// <summary>Largest UDP payload IPv4 can carry.</summary>
    public const int MaxUdpPayload = 65507;

    public static void Write(Span<byte> destination, DatagramType type)
    {
        destination[0] = Magic0;
        destination[1] = Magic1;
        destination[2] = CurrentVersion;
        destination[3] = (byte)type;
    }

    public static DatagramError Validate(ReadOnlySpan<byte> datagram, int maxBody, out DatagramType type)
    {
        type = default;
        if (datagram.Length < Size)
        {
            return DatagramError.Truncated;
        }

        if (datagram[0] != Magic0 || datagram[1] != Magic1)
        {
            return DatagramError.BadMagic;
        }

        if (datagram[2] != CurrentVersion)
        {
            return DatagramError.BadVersion;
        }

        type = (DatagramType)datagram[3];
        if (type != DatagramType.Envelopes)
        {
            return DatagramError.UnknownType;
        }

        if (datagram.Length - Size > maxBody)
        {
            return DatagramError.TooLarge;
        }

        return datagram.Length == Size ? DatagramError.Truncated : DatagramError.None;
    }

    public static string Describe(DatagramError error, ReadOnlySpan<byte> datagram, int maxBody) => error switch
    {
        DatagramError.Truncated => $"datagram of {datagram.Length} bytes is too short (header is {Size} bytes, body must not be empty)",
        DatagramError.BadMagic => $"bad magic 0x{datagram[0]:X2}{datagram[1]:X2} (not an Engine datagram)",
        DatagramError.BadVersion => $"datagram version {datagram[2]} is not supported (expected {CurrentVersion})",
        DatagramError.UnknownType => $"unknown datagram type {datagram[3]}",
        DatagramError.TooLarge => $"datagram body of {datagram.Length - Size} bytes exceeds the maximum of {maxBody}",
        _ => error.ToString(),
    };
}
