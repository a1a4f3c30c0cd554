using System.Buffers;
using Engine.Membership;
using Engine.Protocol;
using Engine.Security;
using Engine.Transport;
using SecurityPkiId = Engine.Security.PkiId;

namespace Engine.Discovery;

/// <content>
/// Signed membership (only when the node has a credential, <see cref="DiscoverySettings.Security"/>): every alive
/// envelope received — heartbeat, a request's self information, a response's entries — is verified before the table
/// sees it, and membership responses carry each member's own signed envelope (the latest verified one) instead of
/// one rebuilt from the table, which no receiver could verify. The unsigned path is untouched.
/// </content>
internal sealed partial class DiscoveryService
{
    /// <summary>True when the envelope may reach the table: verified, and not this peer's own (echoes are ignored unverified).</summary>
    private static bool AcceptSigned(NodeSecurity security, PeerEndpoint source, ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> pkiId)
    {
        if (SecurityPkiId.TryRead(pkiId, out var pki) && pki == security.PkiId)
        {
            return false; // this peer's own heartbeat, flooded back
        }

        return security.AcceptAlive(envelope, source);
    }

    private static bool AcceptSigned(NodeSecurity security, PeerEndpoint source, ReadOnlySpan<byte> envelope) =>
        security.AcceptAlive(envelope, source);

    /// <summary>
    /// A bootstrap peer must be of this peer's org (as in Fabric): a response from a bootstrap endpoint whose first entry
    /// (the responder's own alive message) names another org is refused whole, counted and logged.
    /// </summary>
    private bool IsForeignBootstrap(NodeSecurity security, PeerEndpoint source, ReadOnlySpan<byte> content)
    {
        bool bootstrap = false;
        foreach (var contact in _bootstrap)
        {
            bootstrap |= contact.Endpoint == source;
        }

        if (!bootstrap)
        {
            return false;
        }

        var reader = new MembershipMessages.ResponseReader(content);
        if (!reader.TryRead(out var first, out _) || !EnvelopeView.TryParse(first, out var view)
            || view.ContentField != EnvelopeView.AliveContent || !AliveCodec.TryParse(view.Content, out var fields)
            || !IdentityCodec.TryReadOrg(fields.Identity, out var org) || System.Text.Ascii.Equals(org, _settings.OrgId))
        {
            return false;
        }

        security.RefuseForeignBootstrap(source, System.Text.Encoding.UTF8.GetString(org));
        return true;
    }

    /// <summary>The signed counterpart of SendMembershipResponse: this peer's fresh signed alive, then each member's own envelope.</summary>
    /// <remarks>
    /// To a peer of another org (<paramref name="askerOrg"/>) only what the org boundary discloses goes, each envelope
    /// without its secret envelope (the signature covers the payload only, so it still verifies).
    /// </remarks>
    private void SendSignedMembershipResponse(PeerEndpoint to, ReadOnlySpan<byte> known, NodeSecurity security, string askerOrg, bool selfOnly, Membership.Member? asker, ulong viewDigest)
    {
        var boundary = _emitter.Boundary!;
        bool otherOrg = !boundary.IsSameOrg(askerOrg);
        var entries = new List<(byte[] Envelope, bool Dead)>(known.IsEmpty ? _table.Count + 1 : 16);
        if (!otherOrg || _externalText.Length > 0)
        {
            var own = RentOwnAlive(out int ownLength, withCertificate: true, forOtherOrg: otherOrg);
            entries.Add((own.AsSpan(0, ownLength).ToArray(), false));
            ArrayPool<byte>.Shared.Return(own);
        }

        var dead = new List<(byte[] Envelope, bool Dead)>();
        int omitted = 0;
        foreach (var member in _table)
        {
            if (selfOnly)
            {
                break;
            }

            var state = member.GetState(out var time);
            if (state == MemberState.Purged || ReferenceEquals(member, asker) || !security.TryGetAlive(member.PkiId, out var envelope))
            {
                continue;
            }

            if (otherOrg)
            {
                var disclosed = new byte[envelope.Length];
                int length = boundary.Disclose(envelope, disclosed);
                if (length == 0)
                {
                    continue; // not disclosed across the org boundary
                }

                envelope = disclosed.AsSpan(0, length).ToArray();
            }

            if (!known.IsEmpty && KnownFilter.MayContain(known, member.KeyHash, time))
            {
                omitted++;
                continue;
            }

            (state == MemberState.Dead ? dead : entries).Add((envelope, state == MemberState.Dead));
        }

        entries.AddRange(dead);
        int budget = _transport.MaxFramePayload - MembershipMessages.ResponseOverhead;
        int frames = 0, skipped = 0, start = 0;
        while (start < entries.Count)
        {
            int size = 0, end = start;
            while (end < entries.Count && size + MembershipMessages.EntrySize(entries[end].Envelope.Length) <= budget)
            {
                size += MembershipMessages.EntrySize(entries[end].Envelope.Length);
                end++;
            }

            if (end == start)
            {
                skipped++;
                start++;
                continue;
            }

            ulong digest = start == 0 ? viewDigest : 0;
            int contentSize = size + MembershipMessages.ViewDigestSize(digest);
            int total = MembershipMessages.ResponseSize(contentSize);
            var frame = ArrayPool<byte>.Shared.Rent(total);
            try
            {
                var span = frame.AsSpan(0, total);
                int position = MembershipMessages.WriteResponseHeader(span, contentSize);
                for (int i = start; i < end; i++)
                {
                    var (envelope, isDead) = entries[i];
                    position += MembershipMessages.WriteEntryHeader(span[position..], isDead, envelope.Length);
                    envelope.CopyTo(span[position..]);
                    position += envelope.Length;
                }

                position += MembershipMessages.WriteViewDigest(span[position..], digest);

                if (_transport.SendFrame(to, span[..position]) == SendStatus.Sent)
                {
                    Counters.ResponseSent();
                    Counters.FrameSent(position);
                }
                else
                {
                    Counters.FrameSendFailed();
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(frame);
            }

            frames++;
            start = end;
        }

        if (skipped > 0)
        {
            DiscoveryLog.MemberTooLarge(_logger, Endpoint, to, _transport.MaxFramePayload, skipped);
        }

        Counters.Omitted(omitted);
        Counters.EntriesSentInResponse(entries.Count - skipped);
        DiscoveryLog.ResponseSent(_logger, Endpoint, to, entries.Count - skipped, frames);
    }
}
