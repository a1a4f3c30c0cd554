using Engine.Protocol;

namespace Engine.Discovery;

/// <summary>
/// MembershipRequest and MembershipResponse frames (one Envelope per frame body, unsigned, tag EMPTY, as Fabric sends
/// them), written and read as spans: <c>Envelope{payload = GossipMessage{tag, mem_req = 6 | mem_res = 7}}</c>.
/// </summary>
internal static class MembershipMessages
{
    // MembershipRequest { Envelope self_information = 1; repeated bytes known = 2; }
    // MembershipResponse { repeated Envelope alive = 1; repeated Envelope dead = 2; }
    public const int AliveField = 1;
    public const int DeadField = 2;

    /// <summary>Bytes of envelope and GossipMessage framing around a response's entries (an upper bound).</summary>
    public const int ResponseOverhead = 24;

    private const ulong EmptyTag = (ulong)GossipMessage.Types.Tag.Empty;

    /// <summary>
    /// Engine's extension of MembershipRequest: a <see cref="KnownFilter"/> of the members the asker holds (any state). Fabric
    /// leaves <c>known</c> (2) empty and does not define this field, so a Fabric peer ignores it and answers in full.
    /// </summary>
    public const int KnownFilterField = 1001;

    /// <summary>
    /// Engine's extension of MembershipRequest (uint64, absent when zero): the asker's view digest without the member the
    /// request goes to (see MembershipTable.Digest). A responder whose own digest without the asker is equal has nothing
    /// to teach and answers with itself only. Fabric peers ignore it.
    /// </summary>
    public const int ViewDigestField = 1002;

    public static int RequestSize(int selfLength, int knownFilterLength = 0, ulong viewDigest = 0) =>
        EnvelopeSize(EnvelopeView.MembershipRequestContent, RequestContentSize(selfLength, knownFilterLength, viewDigest));

    public static int WriteRequest(Span<byte> destination, ReadOnlySpan<byte> selfEnvelope, ReadOnlySpan<byte> knownFilter = default, ulong viewDigest = 0)
    {
        int position = WriteHeaders(destination, EnvelopeView.MembershipRequestContent, RequestContentSize(selfEnvelope.Length, knownFilter.Length, viewDigest));
        var w = new ProtoSpanWriter(destination[position..]);
        w.WriteBytesField(1, selfEnvelope);
        w.WriteBytesField(KnownFilterField, knownFilter);
        w.WriteVarintField(ViewDigestField, viewDigest);
        return position + w.Position;
    }

    public static bool TryParseRequest(ReadOnlySpan<byte> content, out ReadOnlySpan<byte> selfEnvelope) =>
        TryParseRequest(content, out selfEnvelope, out _, out _);

    /// <summary>Reads a request's self information and Engine's known filter and view digest (empty and zero when absent).</summary>
    public static bool TryParseRequest(ReadOnlySpan<byte> content, out ReadOnlySpan<byte> selfEnvelope, out ReadOnlySpan<byte> knownFilter, out ulong viewDigest)
    {
        selfEnvelope = default;
        knownFilter = default;
        viewDigest = 0;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out selfEnvelope),
                (KnownFilterField, WireType.LengthDelimited) => r.TryReadBytes(out knownFilter),
                (ViewDigestField, WireType.Varint) => r.TryReadVarint(out viewDigest),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return !selfEnvelope.IsEmpty;
    }

    private static int RequestContentSize(int selfLength, int knownFilterLength, ulong viewDigest) =>
        ProtoSpanWriter.BytesFieldSize(1, selfLength) + ProtoSpanWriter.BytesFieldSize(KnownFilterField, knownFilterLength)
        + ProtoSpanWriter.VarintFieldSize(ViewDigestField, viewDigest);

    /// <summary>Bytes of a response's view digest field (0 for none).</summary>
    public static int ViewDigestSize(ulong viewDigest) => ProtoSpanWriter.VarintFieldSize(ViewDigestField, viewDigest);

    /// <summary>Writes a response's view digest field (nothing for 0), after its entries.</summary>
    public static int WriteViewDigest(Span<byte> destination, ulong viewDigest)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteVarintField(ViewDigestField, viewDigest);
        return w.Position;
    }

    /// <summary>Size of one response entry (field header + envelope).</summary>
    public static int EntrySize(int envelopeLength) => ProtoSpanWriter.MessageFieldSize(AliveField, envelopeLength);

    public static int ResponseSize(int entriesSize) => EnvelopeSize(EnvelopeView.MembershipResponseContent, entriesSize);

    /// <summary>Writes the envelope and GossipMessage headers of a response whose entries take <paramref name="entriesSize"/> bytes.</summary>
    public static int WriteResponseHeader(Span<byte> destination, int entriesSize) =>
        WriteHeaders(destination, EnvelopeView.MembershipResponseContent, entriesSize);

    public static int WriteEntryHeader(Span<byte> destination, bool dead, int envelopeLength)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(dead ? DeadField : AliveField, envelopeLength);
        return w.Position;
    }

    private static int EnvelopeSize(int content, int contentSize) =>
        ProtoSpanWriter.MessageFieldSize(1, GossipMessageSize(content, contentSize));

    private static int GossipMessageSize(int content, int contentSize) =>
        ProtoSpanWriter.VarintFieldSize(3, EmptyTag) + ProtoSpanWriter.MessageFieldSize(content, contentSize);

    private static int WriteHeaders(Span<byte> destination, int content, int contentSize)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, GossipMessageSize(content, contentSize));
        w.WriteVarintField(3, EmptyTag);
        w.WriteMessageHeader(content, contentSize);
        return w.Position;
    }

    /// <summary>Reads the entries of a MembershipResponse.</summary>
    public ref struct ResponseReader(ReadOnlySpan<byte> content)
    {
        private ProtoSpanReader _reader = new(content);

        public bool Malformed { get; private set; }

        /// <summary>
        /// Engine's extension field 1002 of MembershipResponse, once read past (0 when absent): the responder's view digest
        /// without the asker, sent instead of entries when the digests agree, or when they differ and the request carried
        /// no known filter to answer by.
        /// </summary>
        public ulong ViewDigest { get; private set; }

        public bool TryRead(out ReadOnlySpan<byte> envelope, out bool dead)
        {
            envelope = default;
            dead = false;
            while (!_reader.End)
            {
                if (!_reader.TryReadTag(out int field, out var wt))
                {
                    Malformed = true;
                    return false;
                }

                if (wt == WireType.LengthDelimited && field is AliveField or DeadField)
                {
                    if (!_reader.TryReadBytes(out envelope))
                    {
                        Malformed = true;
                        return false;
                    }

                    dead = field == DeadField;
                    return true;
                }

                if (wt == WireType.Varint && field == ViewDigestField)
                {
                    if (!_reader.TryReadVarint(out ulong digest))
                    {
                        Malformed = true;
                        return false;
                    }

                    ViewDigest = digest;
                    continue;
                }

                if (!_reader.TrySkip(wt))
                {
                    Malformed = true;
                    return false;
                }
            }

            return false;
        }
    }
}
