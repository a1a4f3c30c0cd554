using System.Buffers;

namespace Engine.Transport.Tcp;

/// <summary>
/// One frame read from a stream. The payload is either a slice of the input buffer (raw frames) or a pooled array the
/// LZ4 body was decompressed into; <see cref="Release"/> returns the array once the payload has been consumed.
/// </summary>
internal readonly struct ReceivedFrame
{
    private readonly byte[]? _rented;

    public ReceivedFrame(FrameType type, in ReadOnlySequence<byte> payload, int wireLength, bool compressed, byte[]? rented)
    {
        Type = type;
        Payload = payload;
        WireLength = wireLength;
        Compressed = compressed;
        _rented = rented;
    }

    public FrameType Type { get; }

    /// <summary>The body, decompressed if it was sent compressed. Valid until <see cref="Release"/> (and until the input is advanced).</summary>
    public ReadOnlySequence<byte> Payload { get; }

    /// <summary>Bytes the frame took on the wire, header included.</summary>
    public int WireLength { get; }

    /// <summary>True when the body arrived LZ4-compressed.</summary>
    public bool Compressed { get; }

    public void Release()
    {
        if (_rented is not null)
        {
            ArrayPool<byte>.Shared.Return(_rented);
        }
    }
}
