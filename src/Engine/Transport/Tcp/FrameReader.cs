using System.Buffers;
using System.Buffers.Binary;
using Engine.Transport.Compression;

namespace Engine.Transport.Tcp;

/// <summary>
/// Reads stream frames from the front of a buffer. The header is validated as soon as its 8 bytes are present, and an
/// LZ4 body's claimed uncompressed length as soon as its 4-byte prefix is, so an oversized or hostile frame is rejected
/// before its body is buffered, and nothing is allocated on the strength of a claim above the limit.
/// </summary>
internal static class FrameReader
{
    // LZ4 emits at most 255 bytes per input byte (a run-length byte of 255); a claim beyond that cannot be honest.
    private const long Lz4MaxRatio = 255;
    private const long Lz4RatioSlack = 64;

    /// <summary>
    /// Tries to read one frame from the start of <paramref name="buffer"/>. On <see cref="FrameReadStatus.Complete"/> the
    /// buffer is advanced past the frame and the caller must <see cref="ReceivedFrame.Release"/> it after use; otherwise the
    /// buffer is unchanged. On <see cref="FrameReadStatus.Malformed"/>, <paramref name="error"/> says why.
    /// </summary>
    public static FrameReadStatus TryReadFrame(ref ReadOnlySequence<byte> buffer, int maxPayload, out ReceivedFrame frame, out FrameError error)
    {
        frame = default;
        if (buffer.Length < FrameHeader.Size)
        {
            error = FrameError.None;
            return FrameReadStatus.Incomplete;
        }

        error = FrameHeader.TryParse(buffer, maxPayload, out var header);
        if (error != FrameError.None)
        {
            return FrameReadStatus.Malformed;
        }

        bool lz4 = (header.Flags & FrameFlags.Lz4) != 0;
        int uncompressed = 0;
        if (lz4 && buffer.Length >= FrameHeader.Size + FrameHeader.Lz4PrefixSize)
        {
            error = CheckClaim(buffer, header, maxPayload, out uncompressed);
            if (error != FrameError.None)
            {
                return FrameReadStatus.Malformed;
            }
        }

        long frameLength = FrameHeader.Size + (long)header.BodyLength;
        if (buffer.Length < frameLength)
        {
            return FrameReadStatus.Incomplete;
        }

        var body = buffer.Slice(FrameHeader.Size, header.BodyLength);
        if (!lz4)
        {
            frame = new ReceivedFrame(header.Type, body, (int)frameLength, compressed: false, rented: null);
        }
        else
        {
            error = Decompress(body.Slice(FrameHeader.Lz4PrefixSize), uncompressed, out var rented);
            if (error != FrameError.None)
            {
                return FrameReadStatus.Malformed;
            }

            var payload = rented is null ? ReadOnlySequence<byte>.Empty : new ReadOnlySequence<byte>(rented, 0, uncompressed);
            frame = new ReceivedFrame(header.Type, payload, (int)frameLength, compressed: true, rented);
        }

        buffer = buffer.Slice(frameLength);
        return FrameReadStatus.Complete;
    }

    /// <summary>Explains a <see cref="FrameReadStatus.Malformed"/> result from the (unconsumed) buffer that caused it. Allocates.</summary>
    public static string Describe(FrameError error, in ReadOnlySequence<byte> buffer, int maxPayload)
    {
        if (error is FrameError.UncompressedTooLarge or FrameError.BadCompressedData
            && buffer.Length >= FrameHeader.Size + FrameHeader.Lz4PrefixSize)
        {
            Span<byte> raw = stackalloc byte[FrameHeader.Size + FrameHeader.Lz4PrefixSize];
            buffer.Slice(0, raw.Length).CopyTo(raw);
            uint length = BinaryPrimitives.ReadUInt32BigEndian(raw);
            uint claim = BinaryPrimitives.ReadUInt32BigEndian(raw[FrameHeader.Size..]);
            return error == FrameError.UncompressedTooLarge
                ? $"compressed frame claims {claim} bytes uncompressed, above the maximum of {maxPayload}"
                : $"compressed frame of {length} bytes claiming {claim} bytes uncompressed holds a malformed LZ4 block";
        }

        return FrameHeader.Describe(error, buffer, maxPayload);
    }

    private static FrameError CheckClaim(in ReadOnlySequence<byte> buffer, FrameHeader header, int maxPayload, out int uncompressed)
    {
        Span<byte> prefix = stackalloc byte[FrameHeader.Lz4PrefixSize];
        buffer.Slice(FrameHeader.Size, FrameHeader.Lz4PrefixSize).CopyTo(prefix);
        uint claim = BinaryPrimitives.ReadUInt32BigEndian(prefix);
        uncompressed = 0;
        if (claim > (uint)maxPayload)
        {
            return FrameError.UncompressedTooLarge;
        }

        long block = header.BodyLength - FrameHeader.Lz4PrefixSize;
        if (claim > (block * Lz4MaxRatio) + Lz4RatioSlack)
        {
            return FrameError.BadCompressedData;
        }

        uncompressed = (int)claim;
        return FrameError.None;
    }

    private static FrameError Decompress(in ReadOnlySequence<byte> block, int uncompressed, out byte[]? rented)
    {
        rented = uncompressed == 0 ? null : ArrayPool<byte>.Shared.Rent(uncompressed);
        Span<byte> destination = rented is null ? [] : rented.AsSpan(0, uncompressed);
        int written;
        if (block.IsSingleSegment)
        {
            written = Lz4Codec.Decompress(block.FirstSpan, destination);
        }
        else
        {
            // LZ4 needs its input contiguous: a block that straddles pipe segments is gathered into a pooled buffer first.
            byte[] scratch = ArrayPool<byte>.Shared.Rent((int)block.Length);
            block.CopyTo(scratch);
            written = Lz4Codec.Decompress(scratch.AsSpan(0, (int)block.Length), destination);
            ArrayPool<byte>.Shared.Return(scratch);
        }

        if (written != uncompressed)
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
                rented = null;
            }

            return FrameError.BadCompressedData;
        }

        return FrameError.None;
    }
}
