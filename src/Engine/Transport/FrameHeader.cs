using System.Buffers;
using System.Buffers.Binary;

namespace Engine.Transport;

/// <summary>Kinds of stream frame. Unknown kinds close the connection.</summary>
internal enum FrameType : byte
{
    /// <summary>First frame on every connection: a ConnEstablish naming the sender's listening endpoint.</summary>
    Handshake = 1,

    /// <summary>An application frame: a marshalled Envelope (or whatever the layer above sends).</summary>
    Message = 2,

    /// <summary>Keeps an idle connection open; no body.</summary>
    Keepalive = 3,
}

/// <summary>Frame flags.</summary>
[Flags]
internal enum FrameFlags : byte
{
    None = 0,

    /// <summary>The body is [u32 BE uncompressed length][LZ4 block].</summary>
    Lz4 = 1,
}

/// <summary>Why a frame header was rejected.</summary>
internal enum FrameError
{
    None = 0,
    TooLarge,
    BadVersion,
    UnknownType,
    BadFlags,
    BadReserved,
    BadCompressedLength,

    /// <summary>An LZ4 body claims an uncompressed length above the maximum frame payload.</summary>
    UncompressedTooLarge,

    /// <summary>An LZ4 body is malformed or does not decompress to exactly its claimed length.</summary>
    BadCompressedData,
}

/// <summary>
/// The 8-byte stream frame header: [u32 BE body length][u8 version][u8 type][u8 flags][u8 reserved = 0].
/// The body length counts the bytes after the header. It is validated before any body byte is buffered.
/// </summary>
internal readonly struct FrameHeader
{
    public const int Size = 8;
    public const byte CurrentVersion = 1;

    /// <summary>Largest body length representable on the wire (and accepted by any configuration): 1 GiB.</summary>
    public const int MaxBodyLength = 1 << 30;

    /// <summary>Size of the uncompressed-length prefix of an LZ4 body.</summary>
    public const int Lz4PrefixSize = 4;

    public FrameHeader(int bodyLength, FrameType type, FrameFlags flags)
    {
        BodyLength = bodyLength;
        Type = type;
        Flags = flags;
    }

    public int BodyLength { get; }

    public FrameType Type { get; }

    public FrameFlags Flags { get; }

    public void Write(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt32BigEndian(destination, (uint)BodyLength);
        destination[4] = CurrentVersion;
        destination[5] = (byte)Type;
        destination[6] = (byte)Flags;
        destination[7] = 0;
    }

    /// <summary>
    /// Validates a header. <paramref name="maxBody"/> bounds the body on the wire; for LZ4 bodies the
    /// uncompressed length is checked separately once its prefix is available.
    /// </summary>
    public static FrameError TryParse(ReadOnlySpan<byte> source, int maxBody, out FrameHeader header)
    {
        header = default;
        uint length = BinaryPrimitives.ReadUInt32BigEndian(source);
        if (length > (uint)maxBody)
        {
            return FrameError.TooLarge;
        }

        if (source[4] != CurrentVersion)
        {
            return FrameError.BadVersion;
        }

        var type = (FrameType)source[5];
        if (type is not (FrameType.Handshake or FrameType.Message or FrameType.Keepalive))
        {
            return FrameError.UnknownType;
        }

        var flags = (FrameFlags)source[6];
        if ((flags & ~FrameFlags.Lz4) != 0)
        {
            return FrameError.BadFlags;
        }

        if (source[7] != 0)
        {
            return FrameError.BadReserved;
        }

        if ((flags & FrameFlags.Lz4) != 0 && length < Lz4PrefixSize + 1)
        {
            return FrameError.BadCompressedLength;
        }

        header = new FrameHeader((int)length, type, flags);
        return FrameError.None;
    }

    /// <summary>Reads a header from the start of a sequence that holds at least <see cref="Size"/> bytes.</summary>
    public static FrameError TryParse(in ReadOnlySequence<byte> source, int maxBody, out FrameHeader header)
    {
        if (source.FirstSpan.Length >= Size)
        {
            return TryParse(source.FirstSpan, maxBody, out header);
        }

        Span<byte> copy = stackalloc byte[Size];
        source.Slice(0, Size).CopyTo(copy);
        return TryParse(copy, maxBody, out header);
    }

    public static string Describe(FrameError error, in ReadOnlySequence<byte> headerBytes, int maxBody)
    {
        Span<byte> raw = stackalloc byte[Size];
        headerBytes.Slice(0, Math.Min(Size, (int)headerBytes.Length)).CopyTo(raw);
        uint length = BinaryPrimitives.ReadUInt32BigEndian(raw);
        return error switch
        {
            FrameError.TooLarge => $"frame body of {length} bytes exceeds the maximum of {maxBody}",
            FrameError.BadVersion => $"frame version {raw[4]} is not supported (expected {CurrentVersion})",
            FrameError.UnknownType => $"unknown frame type {raw[5]}",
            FrameError.BadFlags => $"unknown frame flags 0x{raw[6]:X2}",
            FrameError.BadReserved => $"reserved header byte is 0x{raw[7]:X2}, expected 0",
            FrameError.BadCompressedLength => $"compressed frame of {length} bytes is too short to hold its length prefix",
            FrameError.UncompressedTooLarge => $"compressed frame of {length} bytes claims an uncompressed length above the maximum of {maxBody}",
            FrameError.BadCompressedData => $"compressed frame of {length} bytes holds a malformed LZ4 block",
            _ => error.ToString(),
        };
    }
}
