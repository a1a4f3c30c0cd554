using Engine.Protocol;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Gossip;

/// <summary>Why an envelope has no message identity.</summary>
internal enum IdentityError
{
    None = 0,

    /// <summary>The envelope or its GossipMessage does not parse.</summary>
    Malformed,

    /// <summary>The GossipMessage carries content that is not disseminated (membership, pull, ...).</summary>
    NotDisseminated,

    /// <summary>A field is missing or too long (an empty PKI-ID, a channel over 255 bytes, ...).</summary>
    BadFields,
}

/// <summary>
/// Reads the <see cref="MessageId"/> of a disseminated message (alive, state info, leadership, block, application data) straight from the
/// envelope bytes, without allocating: the receive path's first step.
/// </summary>
internal static class MessageIdentity
{
    public static IdentityError TryRead(ReadOnlySpan<byte> envelope, out MessageId id)
    {
        id = default;
        if (!EnvelopeView.TryParse(envelope, out var view))
        {
            return IdentityError.Malformed;
        }

        return TryRead(view, out id);
    }

    public static IdentityError TryRead(EnvelopeView view, out MessageId id)
    {
        id = default;
        bool parsed;
        switch (view.ContentField)
        {
            case EnvelopeView.AliveContent:
                parsed = AliveCodec.TryParse(view.Content, out var alive);
                id = MessageId.ForPeer(MessageKind.Alive, default, alive.PkiId, new PeerTime(alive.IncNum, alive.SeqNum));
                break;
            case EnvelopeView.StateInfoContent:
                // StateInfo { PeerTime timestamp = 2; bytes pki_id = 3; }
                parsed = TryReadPeerAndTime(view.Content, pkiField: 3, timeField: 2, out var pki, out var time);
                id = MessageId.ForPeer(MessageKind.StateInfo, view.Channel, pki, time);
                break;
            case EnvelopeView.LeadershipContent:
                // LeadershipMessage { bytes pki_id = 1; PeerTime timestamp = 2; }
                parsed = TryReadPeerAndTime(view.Content, pkiField: 1, timeField: 2, out pki, out time);
                id = MessageId.ForPeer(MessageKind.Leadership, view.Channel, pki, time);
                break;
            case EnvelopeView.DataMessageContent:
                parsed = TryReadBlockSequence(view.Content, out ulong sequence);
                id = MessageId.ForBlock(view.Channel, sequence);
                break;
            case EnvelopeView.AppDataContent:
                parsed = AppDataCodec.TryParse(view.Content, out var data);
                id = MessageId.ForAppData(data.PkiId, data.IncNum, data.SeqNum);
                break;
            default:
                return IdentityError.NotDisseminated;
        }

        if (!parsed)
        {
            id = default;
            return IdentityError.Malformed;
        }

        if (!id.IsValid)
        {
            id = default;
            return IdentityError.BadFields;
        }

        return IdentityError.None;
    }

    private static bool TryReadPeerAndTime(ReadOnlySpan<byte> content, int pkiField, int timeField, out ReadOnlySpan<byte> pkiId, out PeerTime time)
    {
        pkiId = default;
        time = default;
        ReadOnlySpan<byte> timeBytes = default;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok;
            if (field == pkiField && wt == WireType.LengthDelimited)
            {
                ok = r.TryReadBytes(out pkiId);
            }
            else if (field == timeField && wt == WireType.LengthDelimited)
            {
                ok = r.TryReadBytes(out timeBytes);
            }
            else
            {
                ok = r.TrySkip(wt);
            }

            if (!ok)
            {
                return false;
            }
        }

        return TryReadPeerTime(timeBytes, out time);
    }

    private static bool TryReadPeerTime(ReadOnlySpan<byte> bytes, out PeerTime time)
    {
        bool ok = PeerTimeCodec.TryRead(bytes, out ulong inc, out ulong seq);
        time = ok ? new PeerTime(inc, seq) : default;
        return ok;
    }

    // DataMessage { Payload payload = 1; }  Payload { uint64 seq_num = 1; bytes data = 2; }
    private static bool TryReadBlockSequence(ReadOnlySpan<byte> content, out ulong sequence)
    {
        sequence = 0;
        ReadOnlySpan<byte> payload = default;
        bool hasPayload = false;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok;
            if (field == 1 && wt == WireType.LengthDelimited)
            {
                ok = r.TryReadBytes(out payload);
                hasPayload = true;
            }
            else
            {
                ok = r.TrySkip(wt);
            }

            if (!ok)
            {
                return false;
            }
        }

        if (!hasPayload)
        {
            return false;
        }

        var p = new ProtoSpanReader(payload);
        while (!p.End)
        {
            if (!p.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.Varint) => p.TryReadVarint(out sequence),
                _ => p.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return true;
    }
}
