using System.Buffers;
using System.Buffers.Binary;
using Engine.Transport.Compression;

namespace Engine.Transport.Tcp;

/// <summary>
/// Writes stream frames ([8-byte header][body], see <see cref="FrameHeader"/>) straight into a buffer writer (the
/// connection's output pipe), compressing large bodies with LZ4 in place when that makes them smaller.
/// </summary>
internal static class FrameWriter
{
    private const int Lz4Overhead = FrameHeader.Size + FrameHeader.Lz4PrefixSize;

    /// <summary>Frames whose worst-case compressed size fits one pipe segment are compressed in place.</summary>
    private const int InPlaceLimit = BlockMemoryPool.BlockSize;

    /// <summary>
    /// Writes one frame and returns the bytes written, header included. Bodies of at least
    /// <paramref name="compressionThreshold"/> bytes (0 = never) are sent as [u32 BE uncompressed length][LZ4 block]
    /// when that is smaller than the body. The caller checks the body against the maximum frame payload.
    /// </summary>
    public static int Write(IBufferWriter<byte> writer, FrameType type, ReadOnlySpan<byte> body, int compressionThreshold, out bool compressed)
    {
        if (compressionThreshold > 0 && body.Length >= compressionThreshold)
        {
            int bound = Lz4Codec.MaxCompressedLength(body.Length);
            if (bound > 0 && Lz4Overhead + bound <= InPlaceLimit)
            {
                // Reserve room for the worst case, compress after the header, then fill the header in. If LZ4 did not
                // help, the same span (bound >= body length) takes the raw frame: no second reservation.
                Span<byte> span = writer.GetSpan(Lz4Overhead + bound);
                int packed = Lz4Codec.Compress(body, span.Slice(Lz4Overhead, bound));
                if (packed > 0 && FrameHeader.Lz4PrefixSize + packed < body.Length)
                {
                    WriteLz4Header(span, type, body.Length, packed);
                    writer.Advance(Lz4Overhead + packed);
                    compressed = true;
                    return Lz4Overhead + packed;
                }

                new FrameHeader(body.Length, type, FrameFlags.None).Write(span);
                body.CopyTo(span[FrameHeader.Size..]);
                writer.Advance(FrameHeader.Size + body.Length);
                compressed = false;
                return FrameHeader.Size + body.Length;
            }

            if (bound > 0)
            {
                // Too big for one segment: compress into a pooled scratch buffer and copy the (smaller) result across
                // segments, rather than making the pipe find one contiguous block of the worst-case size.
                byte[] scratch = ArrayPool<byte>.Shared.Rent(bound);
                try
                {
                    int packed = Lz4Codec.Compress(body, scratch.AsSpan(0, bound));
                    if (packed > 0 && FrameHeader.Lz4PrefixSize + packed < body.Length)
                    {
                        WriteLz4Header(writer.GetSpan(Lz4Overhead), type, body.Length, packed);
                        writer.Advance(Lz4Overhead);
                        writer.Write(scratch.AsSpan(0, packed));
                        compressed = true;
                        return Lz4Overhead + packed;
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(scratch);
                }
            }
        }

        compressed = false;
        return WriteRaw(writer, type, body);
    }

    private static void WriteLz4Header(Span<byte> span, FrameType type, int uncompressedLength, int packed)
    {
        new FrameHeader(FrameHeader.Lz4PrefixSize + packed, type, FrameFlags.Lz4).Write(span);
        BinaryPrimitives.WriteUInt32BigEndian(span[FrameHeader.Size..], (uint)uncompressedLength);
    }

    private static int WriteRaw(IBufferWriter<byte> writer, FrameType type, ReadOnlySpan<byte> body)
    {
        var header = new FrameHeader(body.Length, type, FrameFlags.None);
        Span<byte> span = writer.GetSpan(FrameHeader.Size);
        if (span.Length - FrameHeader.Size >= body.Length)
        {
            header.Write(span);
            body.CopyTo(span[FrameHeader.Size..]);
            writer.Advance(FrameHeader.Size + body.Length);
        }
        else
        {
            // A body larger than the current segment is copied across segments rather than demanding one contiguous block.
            header.Write(span);
            writer.Advance(FrameHeader.Size);
            writer.Write(body);
        }

        return FrameHeader.Size + body.Length;
    }
}
