using Engine.Gossip;

namespace Engine.Protocol;

/// <summary>
/// Encodes and decodes the Engine-only digest-list messages of lazy push, <c>Announce</c> (field 101) and <c>Want</c>
/// (field 102) of GossipMessage: <c>Envelope{GossipMessage{tag = EMPTY, announce|want{repeated bytes digests = 1}}}</c>,
/// unsigned. The body (the repeated digests) is built by <see cref="AppendDigest"/>; nothing is allocated.
/// </summary>
internal static class DigestListCodec
{
    /// <summary>Want's <c>bytes padding = 2</c>: zeros that make a Want large enough to be answered by datagram.</summary>
    public const int PaddingField = 2;

    /// <summary>Bytes a digest of <paramref name="length"/> takes in the body.</summary>
    public static int DigestFieldSize(int length) => ProtoSpanWriter.BytesFieldSize(1, length);

    /// <summary>The envelope's size around a body of <paramref name="bodyLength"/> bytes.</summary>
    public static int EnvelopeSize(int content, int bodyLength) => ProtoSpanWriter.BytesFieldSize(1, PayloadSize(content, bodyLength));

    /// <summary>The most body bytes an envelope of at most <paramref name="maxEnvelope"/> bytes holds.</summary>
    public static int MaxBody(int content, int maxEnvelope)
    {
        int body = maxEnvelope;
        while (body > 0 && EnvelopeSize(content, body) > maxEnvelope)
        {
            body--;
        }

        return body;
    }

    /// <summary>Appends one digest field to <paramref name="body"/> at <paramref name="written"/>; false (nothing written) when it does not fit.</summary>
    public static bool AppendDigest(Span<byte> body, ref int written, ReadOnlySpan<byte> digest)
    {
        if (digest.IsEmpty || DigestFieldSize(digest.Length) > body.Length - written)
        {
            return false;
        }

        var w = new ProtoSpanWriter(body[written..]);
        w.WriteBytesField(1, digest);
        written += w.Position;
        return true;
    }

    /// <summary>
    /// Pads a body to at least <paramref name="minimum"/> bytes with a zero-filled <c>padding</c> field (Want field 2,
    /// which readers skip); false when the body is already that long or the padding does not fit the buffer.
    /// </summary>
    public static bool Pad(Span<byte> body, ref int written, int minimum)
    {
        int missing = minimum - written;
        if (missing <= 0)
        {
            return false;
        }

        // The field is a tag byte, a varint length and the zeros: the smallest such field of at least `missing` bytes.
        int length = Math.Max(0, missing - 2);
        while (ProtoSpanWriter.BytesFieldSize(PaddingField, length) < missing)
        {
            length++;
        }

        if (ProtoSpanWriter.BytesFieldSize(PaddingField, length) > body.Length - written)
        {
            return false;
        }

        var w = new ProtoSpanWriter(body[written..]);
        w.WriteMessageHeader(PaddingField, length);
        body.Slice(written + w.Position, length).Clear();
        written += w.Position + length;
        return true;
    }

    /// <summary>Writes the envelope around <paramref name="body"/>; <paramref name="destination"/> must hold <see cref="EnvelopeSize"/> bytes.</summary>
    public static int Write(Span<byte> destination, int content, ReadOnlySpan<byte> body)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, PayloadSize(content, body.Length));
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.Empty);
        w.WriteMessageHeader(content, body.Length);
        body.CopyTo(destination[w.Position..]);
        return w.Position + body.Length;
    }

    /// <summary>The kind of the first digest of an Announce's or Want's content (its first byte); false when there is none.</summary>
    public static bool TryPeekKind(ReadOnlySpan<byte> content, out MessageKind kind)
    {
        var reader = new ProtoSpanReader(content);
        if (TryReadNext(ref reader, out var digest, out _) && !digest.IsEmpty)
        {
            kind = (MessageKind)digest[0];
            return true;
        }

        kind = default;
        return false;
    }

    /// <summary>Reads the next digest of an Announce or Want content; false at the end or on malformed input (<paramref name="malformed"/> says which).</summary>
    public static bool TryReadNext(ref ProtoSpanReader reader, out ReadOnlySpan<byte> digest, out bool malformed)
    {
        digest = default;
        malformed = false;
        while (!reader.End)
        {
            if (!reader.TryReadTag(out int field, out var wireType))
            {
                malformed = true;
                return false;
            }

            if (field == 1 && wireType == WireType.LengthDelimited)
            {
                if (reader.TryReadBytes(out digest))
                {
                    return true;
                }

                malformed = true;
                return false;
            }

            if (!reader.TrySkip(wireType))
            {
                malformed = true;
                return false;
            }
        }

        return false;
    }

    private static int PayloadSize(int content, int bodyLength) =>
        ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.Empty) + ProtoSpanWriter.MessageFieldSize(content, bodyLength);
}
