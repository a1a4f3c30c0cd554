using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Discovery;

/// <content>
/// What the SWIM-style strategy (<see cref="SwimHeartbeatStrategy"/>) needs from discovery: this peer's time and alive
/// fields, refutation (a newer seq_num), and recording news through the same table rules, logs and view events as the
/// rest of discovery.
/// </content>
internal sealed partial class DiscoveryService
{
    internal ITransport Transport => _transport;

    /// <summary>The SWIM-style strategy, when this peer runs it (its counters are read by the load generator).</summary>
    internal SwimHeartbeatStrategy? Swim => _strategy as SwimHeartbeatStrategy;

    internal TimeProvider Time => _time;

    /// <summary>This peer's current time (no seq bump).</summary>
    internal PeerTime OwnTime => new(_incarnation, (ulong)Volatile.Read(ref _seq));

    /// <summary>This peer's alive fields at its current time.</summary>
    internal AliveFields OwnAliveFields() => OwnFields((ulong)Volatile.Read(ref _seq));

    /// <summary>
    /// Someone holds this peer suspect or dead at <paramref name="accused"/>: move this peer's time past it (SWIM's
    /// refutation, with PeerTime's seq_num as the incarnation counter). False when the accusation is about an older time
    /// or another incarnation (already refuted, or about a previous run of this peer).
    /// </summary>
    internal bool Refute(PeerTime accused)
    {
        if (accused.IncNum != _incarnation)
        {
            return false;
        }

        while (true)
        {
            long current = Volatile.Read(ref _seq);
            if ((ulong)current > accused.SeqNum)
            {
                return false;
            }

            if (Interlocked.CompareExchange(ref _seq, (long)accused.SeqNum + 1, current) == current)
            {
                return true;
            }
        }
    }

    /// <summary>The alive fields of <paramref name="member"/> at <paramref name="time"/>, as held (endpoint text written into <paramref name="endpointText"/>).</summary>
    internal AliveFields MemberAliveFields(Member member, PeerTime time, Span<byte> endpointText)
    {
        var info = Volatile.Read(ref member.Info);
        int length = EndpointText.Format(info.Endpoint, endpointText);
        string org = member.Org;
        return new AliveFields
        {
            PkiId = member.PkiId,
            Endpoint = endpointText[..length],
            Metadata = info.Metadata,
            IncNum = time.IncNum,
            SeqNum = time.SeqNum,
            Identity = org.Length == 0 ? default : _orgs.IdentityOf(org),
        };
    }

    /// <summary>Records an AliveMessage heard from its member (or piggybacked news of it): newer wins.</summary>
    internal bool RecordAlive(PeerEndpoint source, ReadOnlySpan<byte> aliveContent, long now, out Member? member, out MembershipChange change)
    {
        if (!TryParseAlive(source, aliveContent, out var fields))
        {
            member = null;
            change = MembershipChange.Stale;
            return false;
        }

        // Every SWIM message carries its sender's alive message, and join news arrives ~4 log10(N) times: most are no
        // newer than what is held. Judged by one lookup, before endpoints and identity are parsed.
        if (IsStaleCopy(in fields, out var known))
        {
            member = known;
            change = MembershipChange.Stale;
            return true;
        }

        return TryRecord(source, in fields, default, MemberState.Alive, now, Hearsay.FirstHand, out member, out change, known);
    }

    /// <summary>Records a verdict (suspect or dead) about a known member at <paramref name="time"/>: it lands only if not older than what is held.</summary>
    internal MembershipChange RecordVerdict(Member member, PeerTime time, MemberState state, long now)
    {
        var info = Volatile.Read(ref member.Info);
        var announcement = new MemberAnnouncement(time, state, info.Endpoint, info.InternalEndpoint, member.Org, info.Metadata) { ExternalEndpoint = info.ExternalEndpoint };
        var change = _table.Update(member.PkiId, in announcement, now, out var updated);
        if (updated is not null && change is not (MembershipChange.Stale or MembershipChange.Rejected))
        {
            OnChange(updated, change, now);
        }

        return change;
    }

    /// <summary>A SWIM message arrived in a datagram.</summary>
    public void HandleSwim(PeerEndpoint source, ReadOnlySpan<byte> content, long now)
    {
        if (!_strategy.Receive(source, content, now))
        {
            Counters.UnhandledEnvelope(); // a Fabric-mode peer ignores probes
        }
    }
}
