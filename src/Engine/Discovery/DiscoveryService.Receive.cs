using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Discovery;

/// <content>
/// Received alive messages: parsed in place, recorded only if newer (the table's compare-and-swap), then handed to the
/// strategy to spread. Nothing is allocated for a known member whose endpoint and metadata did not change.
/// </content>
internal sealed partial class DiscoveryService
{
    /// <summary>An alive envelope arrived in a datagram from <paramref name="source"/>.</summary>
    /// <param name="source">The peer the datagram came from (not necessarily the one it is about).</param>
    /// <param name="envelope">The whole envelope (forwarded as is).</param>
    /// <param name="aliveContent">The AliveMessage inside it (<see cref="EnvelopeView.Content"/>).</param>
    /// <param name="now">A timestamp of the node's clock (one read per datagram).</param>
    public void HandleAlive(PeerEndpoint source, ReadOnlySpan<byte> envelope, ReadOnlySpan<byte> aliveContent, long now)
    {
        Counters.AliveArrived();
        if (!TryParseAlive(source, aliveContent, out var fields))
        {
            return;
        }

        // Most heartbeats a flooding peer receives are copies of one it already has (about k per heartbeat): judge those by
        // one lookup, before the endpoint and identity are parsed or the news is built. A copy no newer than what the table
        // holds is stale whatever it says about endpoints (the table would drop it too).
        if (IsStaleCopy(in fields, out var known))
        {
            Counters.Stale();
            return;
        }

        if (_settings.Security is { } security && !AcceptSigned(security, source, envelope, fields.PkiId))
        {
            return;
        }

        var secret = EnvelopeView.TryParse(envelope, out var envelopeView) ? envelopeView.SecretEnvelope : default;
        if (!TryRecord(source, in fields, secret, MemberState.Alive, now, Hearsay.FirstHand, out var member, out var change, known))
        {
            return;
        }

        if (change == MembershipChange.Stale)
        {
            Counters.Stale();
            return;
        }

        _settings.Security?.Remember(fields.PkiId, envelope);

        Counters.AliveForwardedTo(_strategy.OnAccepted(envelope, member!, source));
    }

    /// <summary>How much a message about a member is trusted to refresh it.</summary>
    private enum Hearsay
    {
        /// <summary>A heartbeat or a request's self-information: recorded if newer; the member was seen now.</summary>
        FirstHand,

        /// <summary>
        /// An alive entry of a membership response: recorded only for a member unknown or seen dead. The responder's copy
        /// may be old; letting it refresh a live member would postpone that member's expiry past the timeout (measured:
        /// detection 4.5 s -> 7.5 s in the gate's scenario when newer copies refresh, as Fabric's learnExistingMembers does).
        /// </summary>
        UnlessAlive,

        /// <summary>A dead entry of a membership response: recorded only for a member unknown (as Fabric does).</summary>
        OnlyIfUnknown,
    }

    /// <summary>
    /// True when the table holds the member at a time no older than the message's: stale, whatever it says about
    /// endpoints (the table would drop it too). <paramref name="known"/>: the member found, if any.
    /// </summary>
    private bool IsStaleCopy(in AliveFields fields, out Member? known)
    {
        known = _table.Find(fields.PkiId);
        return known is not null && known.HoldsAtLeast(new PeerTime(fields.IncNum, fields.SeqNum), MemberState.Alive);
    }

    /// <summary>
    /// Parses an AliveMessage and offers it to the table as <paramref name="state"/>. False when it is malformed, about
    /// this peer, refused, or not trusted enough (<paramref name="hearsay"/>) for what the table holds.
    /// </summary>
    private bool TryRecord(PeerEndpoint source, ReadOnlySpan<byte> aliveContent, ReadOnlySpan<byte> secretEnvelope, MemberState state, long now, Hearsay hearsay,
        out Member? member, out MembershipChange change)
    {
        if (!TryParseAlive(source, aliveContent, out var fields))
        {
            member = null;
            change = MembershipChange.Stale;
            return false;
        }

        return TryRecord(source, in fields, secretEnvelope, state, now, hearsay, out member, out change);
    }

    /// <summary>Parses an AliveMessage; a malformed one is counted and logged as bad input from <paramref name="source"/>.</summary>
    private bool TryParseAlive(PeerEndpoint source, ReadOnlySpan<byte> aliveContent, out AliveFields fields)
    {
        if (AliveCodec.TryParse(aliveContent, out fields))
        {
            return true;
        }

        BadInput(source, "an alive message", "malformed protobuf", "alive");
        return false;
    }

    /// <summary>As above, for an AliveMessage already parsed; <paramref name="lookedUp"/>: the member, when the caller already looked it up.</summary>
    private bool TryRecord(PeerEndpoint source, in AliveFields fields, ReadOnlySpan<byte> secretEnvelope, MemberState state, long now, Hearsay hearsay,
        out Member? member, out MembershipChange change, Member? lookedUp = null)
    {
        member = null;
        change = MembershipChange.Stale;
        if (fields.PkiId.IsEmpty)
        {
            BadInput(source, "an alive message", "it carries no PKI-ID", "alive");
            return false;
        }

        if (!EndpointText.TryParse(fields.Endpoint, out var endpoint))
        {
            BadInput(source, "an alive message", "its endpoint is not host:port", "alive");
            return false;
        }

        if (!_orgs.TryRead(fields.Identity, out string org))
        {
            BadInput(source, "an alive message", "its identity is malformed", "alive");
            return false;
        }

        if (fields.PkiId.SequenceEqual(_settings.PkiId))
        {
            return false;
        }

        if (!AcceptsOrg(org))
        {
            Interlocked.Increment(ref _otherOrgRefused);
            return false; // another org's peer, and no channel in common: other orgs are learned only through anchors
        }

        var time = new PeerTime(fields.IncNum, fields.SeqNum);
        if (hearsay != Hearsay.FirstHand && _table.Find(fields.PkiId) is { } known
            && (hearsay == Hearsay.OnlyIfUnknown || known.State != MemberState.Dead))
        {
            return false;
        }

        // A member of this org is reached at its internal endpoint (the secret envelope) when it has an external one; a
        // member of another org only ever shows its external endpoint.
        var external = endpoint;
        if (_emitter.Boundary!.IsSameOrg(org))
        {
            external = default;
            if (AliveCodec.TryReadInternalEndpoint(secretEnvelope, out var internalText))
            {
                if (!EndpointText.TryParse(internalText, out var internalEndpoint))
                {
                    BadInput(source, "an alive message", "its internal endpoint is not host:port", "alive");
                    return false;
                }

                external = endpoint;
                endpoint = internalEndpoint;
            }
            else if (hearsay == Hearsay.FirstHand && (lookedUp ?? _table.Find(fields.PkiId)) is { ExternalEndpoint.IsEmpty: false } held && held.Endpoint != endpoint)
            {
                // A copy of an org mate's heartbeat that went through another org comes back without its secret (Fabric
                // strips it at the boundary): it refreshes the member, but the internal endpoint it cannot carry is kept.
                // (Fabric's learnExistingMembers erases the internal endpoint here.)
                external = held.ExternalEndpoint;
                endpoint = held.Endpoint;
            }
        }

        var announcement = new MemberAnnouncement(time, state, endpoint, default, org, fields.Metadata) { ExternalEndpoint = external };
        change = _table.Update(fields.PkiId, in announcement, now, out member);
        if (change == MembershipChange.Rejected)
        {
            Counters.Rejected();
            if (_rejectedLog.TryAcquire(out long suppressed))
            {
                DiscoveryLog.Rejected(_logger, Endpoint, source, fields.PkiId.Length, org, _table.Count, suppressed);
            }

            return false;
        }

        OnChange(member!, change, now);
        _strategy.OnRecorded(member!, change, hearsay == Hearsay.FirstHand);
        return true;
    }
}
