using Engine.Membership;

namespace Engine.Protocol;

/// <summary>What a SWIM message asks for (SwimMessage.kind).</summary>
internal enum SwimKind
{
    /// <summary>Are you alive? Answered by an <see cref="Ack"/> with the same probe id.</summary>
    Ping = 1,

    /// <summary>The answer to a ping (sent back, or relayed to the peer that asked for an indirect probe).</summary>
    Ack = 2,

    /// <summary>Please ping the target on my behalf and relay its ack (an indirect probe).</summary>
    PingReq = 3,

    /// <summary>Membership changes only, no answer expected (sent while changes are pending).</summary>
    Gossip = 4,
}

/// <summary>One piggybacked membership change, as read (spans over the datagram).</summary>
internal readonly ref struct SwimNews
{
    public MemberState State { get; init; }

    /// <summary>The member's PKI-ID (for alive news, the one inside <see cref="Alive"/>).</summary>
    public ReadOnlySpan<byte> PkiId { get; init; }

    public Membership.PeerTime Time { get; init; }

    /// <summary>For alive news: the member's AliveMessage (endpoint, metadata, identity), so an unknown member can be added.</summary>
    public ReadOnlySpan<byte> Alive { get; init; }
}

/// <summary>A parsed SwimMessage (spans over the datagram).</summary>
internal readonly ref struct SwimView
{
    public SwimKind Kind { get; init; }

    public ulong ProbeId { get; init; }

    /// <summary>The AliveMessage of the peer the message is about: the sender of a ping, or the probed peer of an ack.</summary>
    public ReadOnlySpan<byte> Sender { get; init; }

    public ReadOnlySpan<byte> TargetPkiId { get; init; }

    public ReadOnlySpan<byte> TargetEndpoint { get; init; }

    public ReadOnlySpan<byte> ReplyTo { get; init; }

    public ulong ReplyProbeId { get; init; }

    /// <summary>The whole SwimMessage, for <see cref="SwimCodec.NewsReader"/>.</summary>
    public ReadOnlySpan<byte> Body { get; init; }
}

/// <summary>
/// Envelope{GossipMessage{swim = 120}}: Engine's SWIM probe messages (docs/PROTOCOL.md), written and read without
/// allocating. Field numbers are Engine-only; Fabric peers never send them and skip them as unknown content.
/// </summary>
internal static class SwimCodec
{
    // SwimMessage { Kind kind = 1; uint64 probe_id = 2; AliveMessage sender = 3; bytes target_pki_id = 4;
    //               string target_endpoint = 5; string reply_to = 6; uint64 reply_probe_id = 7; repeated SwimNews news = 8; }
    // SwimNews { MemberState state = 1; bytes pki_id = 2; PeerTime timestamp = 3; AliveMessage alive = 4; }
    public const int NewsField = 8;

    /// <summary>Envelope and GossipMessage headers around a body of <paramref name="bodyLength"/> bytes.</summary>
    public static int EnvelopeSize(int bodyLength)
    {
        int payload = ProtoSpanWriter.MessageFieldSize(EnvelopeView.SwimContent, bodyLength);
        return ProtoSpanWriter.MessageFieldSize(1, payload);
    }

    /// <summary>The most bytes the headers add to a body that fits a datagram.</summary>
    public const int MaxEnvelopeOverhead = 12;

    /// <summary>Writes the message head (everything but the news) into <paramref name="body"/>; returns its length.</summary>
    public static int WriteHead(Span<byte> body, SwimKind kind, ulong probeId, ReadOnlySpan<byte> senderAlive, ReadOnlySpan<byte> targetPkiId,
        ReadOnlySpan<byte> targetEndpoint, ReadOnlySpan<byte> replyTo, ulong replyProbeId)
    {
        var w = new ProtoSpanWriter(body);
        w.WriteVarintField(1, (ulong)kind);
        w.WriteVarintField(2, probeId);
        w.WriteBytesField(3, senderAlive);
        w.WriteBytesField(4, targetPkiId);
        w.WriteBytesField(5, targetEndpoint);
        w.WriteBytesField(6, replyTo);
        w.WriteVarintField(7, replyProbeId);
        return w.Position;
    }

    private static int PeerTimeSize(Membership.PeerTime t) => ProtoSpanWriter.VarintFieldSize(1, t.IncNum) + ProtoSpanWriter.VarintFieldSize(2, t.SeqNum);

    /// <summary>The size of a suspect or dead news item's content.</summary>
    public static int VerdictNewsSize(ReadOnlySpan<byte> pkiId, MemberState state, Membership.PeerTime time) =>
        ProtoSpanWriter.VarintFieldSize(1, (ulong)state) + ProtoSpanWriter.BytesFieldSize(2, pkiId.Length) +
        ProtoSpanWriter.MessageFieldSize(3, PeerTimeSize(time));

    /// <summary>Appends a suspect or dead news item (field 8) at <paramref name="position"/>; false when it does not fit.</summary>
    public static bool TryAppendVerdict(Span<byte> body, ref int position, ReadOnlySpan<byte> pkiId, MemberState state, Membership.PeerTime time)
    {
        int size = VerdictNewsSize(pkiId, state, time);
        if (position + ProtoSpanWriter.MessageFieldSize(NewsField, size) > body.Length)
        {
            return false;
        }

        var w = new ProtoSpanWriter(body[position..]);
        w.WriteMessageHeader(NewsField, size);
        w.WriteVarintField(1, (ulong)state);
        w.WriteBytesField(2, pkiId);
        w.WriteMessageHeader(3, PeerTimeSize(time));
        w.WriteVarintField(1, time.IncNum);
        w.WriteVarintField(2, time.SeqNum);
        position += w.Position;
        return true;
    }

    /// <summary>Appends an alive news item carrying the member's AliveMessage; false when it does not fit.</summary>
    public static bool TryAppendAlive(Span<byte> body, ref int position, in AliveFields alive)
    {
        int aliveSize = AliveCodec.MessageSize(alive);
        int size = ProtoSpanWriter.MessageFieldSize(4, aliveSize);
        if (position + ProtoSpanWriter.MessageFieldSize(NewsField, size) > body.Length)
        {
            return false;
        }

        var w = new ProtoSpanWriter(body[position..]);
        w.WriteMessageHeader(NewsField, size);
        w.WriteMessageHeader(4, aliveSize);
        position += w.Position;
        position += AliveCodec.WriteMessage(body[position..], alive);
        return true;
    }

    /// <summary>Wraps a body in its GossipMessage and Envelope; returns the envelope's length.</summary>
    public static int WriteEnvelope(Span<byte> destination, ReadOnlySpan<byte> body)
    {
        int payload = ProtoSpanWriter.MessageFieldSize(EnvelopeView.SwimContent, body.Length);
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, payload);
        w.WriteMessageHeader(EnvelopeView.SwimContent, body.Length);
        int position = w.Position;
        body.CopyTo(destination[position..]);
        return position + body.Length;
    }

    /// <summary>Parses the head of a SwimMessage (<see cref="EnvelopeView.Content"/>); news are read with <see cref="NewsReader"/>.</summary>
    public static bool TryParse(ReadOnlySpan<byte> body, out SwimView view)
    {
        view = default;
        ulong kind = 0, probeId = 0, replyProbeId = 0;
        ReadOnlySpan<byte> sender = default, targetPkiId = default, targetEndpoint = default, replyTo = default;
        var r = new ProtoSpanReader(body);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.Varint) => r.TryReadVarint(out kind),
                (2, WireType.Varint) => r.TryReadVarint(out probeId),
                (3, WireType.LengthDelimited) => r.TryReadBytes(out sender),
                (4, WireType.LengthDelimited) => r.TryReadBytes(out targetPkiId),
                (5, WireType.LengthDelimited) => r.TryReadBytes(out targetEndpoint),
                (6, WireType.LengthDelimited) => r.TryReadBytes(out replyTo),
                (7, WireType.Varint) => r.TryReadVarint(out replyProbeId),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        if (kind is < (ulong)SwimKind.Ping or > (ulong)SwimKind.Gossip)
        {
            return false;
        }

        view = new SwimView
        {
            Kind = (SwimKind)kind,
            ProbeId = probeId,
            Sender = sender,
            TargetPkiId = targetPkiId,
            TargetEndpoint = targetEndpoint,
            ReplyTo = replyTo,
            ReplyProbeId = replyProbeId,
            Body = body,
        };
        return true;
    }

    /// <summary>Iterates the news items of a SwimMessage body (already checked by <see cref="TryParse"/>).</summary>
    public ref struct NewsReader
    {
        private ProtoSpanReader _reader;

        public NewsReader(ReadOnlySpan<byte> body) => _reader = new ProtoSpanReader(body);

        /// <summary>True when an item was malformed (reading stopped there).</summary>
        public bool Malformed { get; private set; }

        public bool TryRead(out SwimNews news)
        {
            news = default;
            while (!_reader.End)
            {
                if (!_reader.TryReadTag(out int field, out var wt))
                {
                    Malformed = true;
                    return false;
                }

                if (field != NewsField || wt != WireType.LengthDelimited)
                {
                    if (!_reader.TrySkip(wt))
                    {
                        Malformed = true;
                        return false;
                    }

                    continue;
                }

                if (!_reader.TryReadBytes(out var item) || !TryParseNews(item, out news))
                {
                    Malformed = true;
                    return false;
                }

                return true;
            }

            return false;
        }

        private static bool TryParseNews(ReadOnlySpan<byte> item, out SwimNews news)
        {
            news = default;
            ulong state = 0;
            ReadOnlySpan<byte> pkiId = default, time = default, alive = default;
            var r = new ProtoSpanReader(item);
            while (!r.End)
            {
                if (!r.TryReadTag(out int field, out var wt))
                {
                    return false;
                }

                bool ok = (field, wt) switch
                {
                    (1, WireType.Varint) => r.TryReadVarint(out state),
                    (2, WireType.LengthDelimited) => r.TryReadBytes(out pkiId),
                    (3, WireType.LengthDelimited) => r.TryReadBytes(out time),
                    (4, WireType.LengthDelimited) => r.TryReadBytes(out alive),
                    _ => r.TrySkip(wt),
                };
                if (!ok)
                {
                    return false;
                }
            }

            if (state > (ulong)MemberState.Dead || !PeerTimeCodec.TryRead(time, out ulong inc, out ulong seq))
            {
                return false;
            }

            news = new SwimNews { State = (MemberState)state, PkiId = pkiId, Time = new Membership.PeerTime(inc, seq), Alive = alive };
            return true;
        }
    }
}
