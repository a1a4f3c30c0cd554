using Engine.Protocol;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Security;

/// <summary>The kinds of message whose envelope must carry the sender's signature.</summary>
internal enum SignedKind : byte
{
    None = 0,
    Alive = 1,
    StateInfo = 2,
    Leadership = 3,
}

/// <summary>
/// The part of a signed message the verifier needs, read from the envelope without copying: kind, claimed PKI-ID,
/// PeerTime, and (alive only) the identity it may carry.
/// </summary>
internal readonly ref struct SignedMessage
{
    public SignedKind Kind { get; init; }

    public ReadOnlySpan<byte> PkiId { get; init; }

    public PeerTime Time { get; init; }

    /// <summary>The sender's identity when an alive message carries it (during publishCertPeriod), else empty.</summary>
    public ReadOnlySpan<byte> Identity { get; init; }

    public static SignedKind KindOf(int contentField) => contentField switch
    {
        EnvelopeView.AliveContent => SignedKind.Alive,
        EnvelopeView.StateInfoContent => SignedKind.StateInfo,
        EnvelopeView.LeadershipContent => SignedKind.Leadership,
        _ => SignedKind.None,
    };

    /// <summary>Reads a signed message's fields; false when the content is malformed or not of a signed kind.</summary>
    public static bool TryRead(in EnvelopeView view, out SignedMessage message)
    {
        message = default;
        switch (KindOf(view.ContentField))
        {
            case SignedKind.Alive:
                if (!AliveCodec.TryParse(view.Content, out var alive))
                {
                    return false;
                }

                message = new SignedMessage
                {
                    Kind = SignedKind.Alive,
                    PkiId = alive.PkiId,
                    Time = new PeerTime(alive.IncNum, alive.SeqNum),
                    // An identity naming the org alone (after publishCertPeriod) teaches nothing: the certificate is pulled.
                    Identity = IdentityCodec.CarriesCertificate(alive.Identity) ? alive.Identity : default,
                };
                return true;
            case SignedKind.StateInfo:
                // StateInfo { PeerTime timestamp = 2; bytes pki_id = 3; }
                return TryReadPeerAndTime(view.Content, SignedKind.StateInfo, pkiField: 3, timeField: 2, out message);
            case SignedKind.Leadership:
                // LeadershipMessage { bytes pki_id = 1; PeerTime timestamp = 2; }
                return TryReadPeerAndTime(view.Content, SignedKind.Leadership, pkiField: 1, timeField: 2, out message);
            default:
                return false;
        }
    }

    private static bool TryReadPeerAndTime(ReadOnlySpan<byte> content, SignedKind kind, int pkiField, int timeField, out SignedMessage message)
    {
        message = default;
        ReadOnlySpan<byte> pki = default, time = default;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = wt == WireType.LengthDelimited && field == pkiField ? r.TryReadBytes(out pki)
                : wt == WireType.LengthDelimited && field == timeField ? r.TryReadBytes(out time)
                : r.TrySkip(wt);
            if (!ok)
            {
                return false;
            }
        }

        if (!PeerTimeCodec.TryRead(time, out ulong inc, out ulong seq))
        {
            return false;
        }

        message = new SignedMessage { Kind = kind, PkiId = pki, Time = new PeerTime(inc, seq) };
        return true;
    }
}
