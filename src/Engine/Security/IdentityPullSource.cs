using System.Buffers;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Security;

/// <summary>
/// Identity pull (PullMsgType IDENTITY_MSG) through the generic <see cref="PullEngine"/>, as Fabric's certStore does:
/// digests are PKI-IDs, items are <c>Envelope{GossipMessage{tag EMPTY, peer_identity{pki_id, cert = serialized
/// identity}}}</c>. An identity is self-certifying (its PKI-ID is the hash of its bytes) and is learned only if the trust
/// store accepts it, so a pulled item needs no signature: a lying holder can only fail to teach.
/// </summary>
internal sealed class IdentityPullSource(NodeSecurity security, ILogger logger) : IPullItemSource
{
    private const int PeerIdentityContent = 21;

    public PullMsgType MsgType => PullMsgType.IdentityMsg;

    public ReadOnlySpan<byte> Channel => default;

    public GossipMessage.Types.Tag Tag => GossipMessage.Types.Tag.Empty;

    public void CollectDigests(DigestSet into, PeerEndpoint remote, int max)
    {
        Span<byte> digest = stackalloc byte[PkiId.Length];
        foreach (var identity in security.Identities.All)
        {
            if (into.Count >= max)
            {
                return;
            }

            identity.PkiId.CopyTo(digest);
            into.AddOrGet(digest, out _);
        }
    }

    public bool Wants(ReadOnlySpan<byte> digest, PeerEndpoint holder) =>
        PkiId.TryRead(digest, out var pki) && !security.Identities.TryGet(pki, out _);

    public bool TryCopyItem(ReadOnlySpan<byte> digest, PeerEndpoint remote, IBufferWriter<byte> destination)
    {
        if (!PkiId.TryRead(digest, out var pki) || !security.Identities.TryGet(pki, out var identity))
        {
            return false;
        }

        int size = EnvelopeSize(identity.Serialized.Length);
        var span = destination.GetSpan(size);
        Write(span, digest, identity.Serialized);
        destination.Advance(size);
        return true;
    }

    public bool TryGetDigest(ReadOnlySpan<byte> item, Span<byte> digest, out int length)
    {
        length = 0;
        if (!TryRead(item, out var pki, out _) || pki.Length != PkiId.Length || digest.Length < PkiId.Length)
        {
            return false;
        }

        pki.CopyTo(digest);
        length = PkiId.Length;
        return true;
    }

    public void Accept(ReadOnlySpan<byte> item, PeerEndpoint holder)
    {
        if (!TryRead(item, out var claimed, out var serialized))
        {
            Refuse(holder, "the item is not a PeerIdentity envelope");
            return;
        }

        var result = security.Identities.TryLearn(serialized, out var known, out var verdict, out string? reason);
        if (result is LearnResult.Refused or LearnResult.Full)
        {
            SecurityMetrics.IdentitiesRefused.Add(1, SecurityMetrics.Reason(verdict));
            Refuse(holder, $"{verdict}: {reason}");
            return;
        }

        if (!PkiId.TryRead(claimed, out var pki) || known!.PkiId != pki)
        {
            // The identity itself is valid (learned under its own PKI-ID, harmless), but it was offered under another name.
            Refuse(holder, "the identity does not hash to the PKI-ID it was offered under");
            return;
        }

        if (result == LearnResult.Learned)
        {
            Interlocked.Increment(ref security.Counters.IdentitiesPulled);
            SecurityLog.IdentityPulled(logger, new ShortPkiId(pki), known.OrgId, holder);
        }
    }

    /// <summary>The size of an identity item envelope.</summary>
    public static int EnvelopeSize(int identityLength) =>
        ProtoSpanWriter.MessageFieldSize(1, PayloadSize(identityLength));

    /// <summary>Writes an identity item envelope.</summary>
    public static int Write(Span<byte> destination, ReadOnlySpan<byte> pkiId, ReadOnlySpan<byte> identity)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, PayloadSize(identity.Length));
        w.WriteMessageHeader(PeerIdentityContent, ContentSize(identity.Length));
        w.WriteBytesField(1, pkiId);
        w.WriteBytesField(2, identity);
        return w.Position;
    }

    private static int ContentSize(int identityLength) =>
        ProtoSpanWriter.BytesFieldSize(1, PkiId.Length) + ProtoSpanWriter.BytesFieldSize(2, identityLength);

    private static int PayloadSize(int identityLength) => ProtoSpanWriter.MessageFieldSize(PeerIdentityContent, ContentSize(identityLength));

    /// <summary>Reads an identity pull item (a PeerIdentity envelope); false on anything else.</summary>
    internal static bool TryRead(ReadOnlySpan<byte> item, out ReadOnlySpan<byte> pkiId, out ReadOnlySpan<byte> identity)
    {
        pkiId = default;
        identity = default;
        if (!EnvelopeView.TryParse(item, out var view) || view.ContentField != PeerIdentityContent)
        {
            return false;
        }

        var r = new ProtoSpanReader(view.Content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                return false;
            }

            bool ok = (field, wt) switch
            {
                (1, WireType.LengthDelimited) => r.TryReadBytes(out pkiId),
                (2, WireType.LengthDelimited) => r.TryReadBytes(out identity),
                _ => r.TrySkip(wt),
            };
            if (!ok)
            {
                return false;
            }
        }

        return !pkiId.IsEmpty && !identity.IsEmpty;
    }

    private void Refuse(PeerEndpoint holder, string reason)
    {
        Interlocked.Increment(ref security.Counters.IdentitiesRefused);
        SecurityLog.PulledIdentityRefused(logger, holder, reason);
    }
}
