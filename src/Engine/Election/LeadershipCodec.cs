using Engine.Protocol;

namespace Engine.Election;

/// <summary>The fields of a LeadershipMessage, as spans over the caller's buffers (nothing is copied).</summary>
internal readonly ref struct LeadershipFields
{
    public ReadOnlySpan<byte> PkiId { get; init; }

    public ulong IncNum { get; init; }

    public ulong SeqNum { get; init; }

    /// <summary>True for a declaration ("I am the leader"), false for a proposal ("I would be").</summary>
    public bool IsDeclaration { get; init; }
}

/// <summary>
/// Encodes and decodes Envelope{GossipMessage{channel, tag = CHAN_AND_ORG, leadership_msg = 20}} with Fabric's field
/// numbers (<c>LeadershipMessage { bytes pki_id = 1; PeerTime timestamp = 2; bool is_declaration = 3; }</c>), without
/// allocating. Byte-identical to Google.Protobuf's output (tests). The envelope is written unsigned; the node signs
/// the payload (<see cref="WritePayload"/> returns its range) and appends the signature.
/// </summary>
internal static class LeadershipCodec
{
    private static int PeerTimeSize(ulong inc, ulong seq) => ProtoSpanWriter.VarintFieldSize(1, inc) + ProtoSpanWriter.VarintFieldSize(2, seq);

    private static int LeadershipSize(in LeadershipFields f) =>
        ProtoSpanWriter.BytesFieldSize(1, f.PkiId.Length) + ProtoSpanWriter.MessageFieldSize(2, PeerTimeSize(f.IncNum, f.SeqNum)) +
        ProtoSpanWriter.VarintFieldSize(3, f.IsDeclaration ? 1UL : 0UL);

    /// <summary>The size of the GossipMessage (the envelope's payload).</summary>
    public static int PayloadSize(ReadOnlySpan<byte> channel, in LeadershipFields f) =>
        ProtoSpanWriter.BytesFieldSize(2, channel.Length) + ProtoSpanWriter.VarintFieldSize(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg) +
        ProtoSpanWriter.MessageFieldSize(EnvelopeView.LeadershipContent, LeadershipSize(f));

    /// <summary>The size of the whole envelope with a signature of <paramref name="signatureLength"/> bytes.</summary>
    public static int EnvelopeSize(ReadOnlySpan<byte> channel, in LeadershipFields f, int signatureLength) =>
        ProtoSpanWriter.BytesFieldSize(1, PayloadSize(channel, f)) + ProtoSpanWriter.BytesFieldSize(2, signatureLength);

    /// <summary>
    /// Writes the envelope's payload field and returns the bytes written; <paramref name="payloadRange"/> is the
    /// GossipMessage (what is signed). <paramref name="destination"/> must hold <see cref="EnvelopeSize"/> bytes.
    /// </summary>
    public static int WritePayload(Span<byte> destination, ReadOnlySpan<byte> channel, in LeadershipFields f, out Range payloadRange)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, PayloadSize(channel, f));
        int start = w.Position;
        w.WriteBytesField(2, channel);
        w.WriteVarintField(3, (ulong)GossipMessage.Types.Tag.ChanAndOrg);
        w.WriteMessageHeader(EnvelopeView.LeadershipContent, LeadershipSize(f));
        w.WriteBytesField(1, f.PkiId);
        w.WriteMessageHeader(2, PeerTimeSize(f.IncNum, f.SeqNum));
        w.WriteVarintField(1, f.IncNum);
        w.WriteVarintField(2, f.SeqNum);
        w.WriteVarintField(3, f.IsDeclaration ? 1UL : 0UL);
        payloadRange = new Range(start, w.Position);
        return w.Position;
    }

    /// <summary>Appends the signature field; returns the new total length.</summary>
    public static int WriteSignature(Span<byte> destination, int written, ReadOnlySpan<byte> signature)
    {
        var w = new ProtoSpanWriter(destination[written..]);
        w.WriteBytesField(2, signature);
        return written + w.Position;
    }

    /// <summary>Reads a LeadershipMessage's fields from the content of a GossipMessage (field 20). False when malformed or without a PKI-ID.</summary>
    public static bool TryParse(ReadOnlySpan<byte> content, out LeadershipFields fields)
    {
        fields = default;
        ReadOnlySpan<byte> pki = default, time = default;
        ulong declaration = 0;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out pki),
                (2, WireType.LengthDelimited) => r.TryReadBytes(out time),
                (3, WireType.Varint) => r.TryReadVarint(out declaration),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        if (!PeerTimeCodec.TryRead(time, out ulong inc, out ulong seq))
        {
            return false;
        }

        if (pki.IsEmpty)
        {
            return false;
        }

        fields = new LeadershipFields { PkiId = pki, IncNum = inc, SeqNum = seq, IsDeclaration = declaration != 0 };
        return true;
    }

    /// <summary>Reads an envelope carrying a leadership message: its channel and fields. False for anything else or malformed input.</summary>
    public static bool TryParseEnvelope(ReadOnlySpan<byte> envelope, out ReadOnlySpan<byte> channel, out LeadershipFields fields)
    {
        channel = default;
        fields = default;
        if (!EnvelopeView.TryParse(envelope, out var view) || view.ContentField != EnvelopeView.LeadershipContent)
        {
            return false;
        }

        channel = view.Channel;
        return TryParse(view.Content, out fields);
    }
}
