using Engine.Membership;
using Engine.Transport;

namespace Engine.Node;

/// <summary>A snapshot of a node's membership: the peers it sees alive and those it sees dead (sorted by endpoint).</summary>
/// <param name="Alive">Peers seen alive.</param>
/// <param name="Dead">Peers seen dead and not yet purged.</param>
public sealed record MembershipView(IReadOnlyList<PeerSummary> Alive, IReadOnlyList<PeerSummary> Dead);

/// <summary>One peer as a node sees it.</summary>
/// <param name="PkiId">The PKI-ID, lower-case hex.</param>
/// <param name="Endpoint">Where the peer is reached.</param>
/// <param name="Org">Its organization (MSP id); empty when unknown.</param>
/// <param name="Time">The newest PeerTime heard from it.</param>
/// <param name="State">Alive, suspect or dead.</param>
public sealed record PeerSummary(string PkiId, PeerEndpoint Endpoint, string Org, PeerTime Time, MemberState State);

/// <summary>A change of a node's membership view.</summary>
/// <param name="PkiId">The peer's PKI-ID, lower-case hex.</param>
/// <param name="Endpoint">Where the peer is reached.</param>
/// <param name="Org">Its organization.</param>
/// <param name="State">Its state after the change: alive (learned or back), dead, or purged.</param>
/// <param name="Resurrected">True when a peer seen dead is alive again.</param>
public readonly record struct MembershipChangedEvent(string PkiId, PeerEndpoint Endpoint, string Org, MemberState State, bool Resurrected);

/// <summary>A node's counters since start.</summary>
/// <param name="AliveSent">This node's own alive messages sent (one per destination).</param>
/// <param name="AliveReceived">Alive messages received in datagrams.</param>
/// <param name="AliveForwarded">Received alive messages passed on (one per destination).</param>
/// <param name="AliveStale">Received alive messages dropped as not newer.</param>
/// <param name="MembershipRequestsSent">Membership requests sent (bootstrap, re-probes, sync).</param>
/// <param name="MembershipResponsesReceived">Membership response frames received.</param>
/// <param name="DatagramsSent">Datagrams sent.</param>
/// <param name="DatagramsReceived">Datagrams received.</param>
/// <param name="BytesSent">Datagram and frame body bytes sent.</param>
/// <param name="BytesReceived">Datagram and frame body bytes received.</param>
/// <param name="DecodeErrors">Malformed records, envelopes and messages dropped.</param>
public sealed record NodeStatistics(long AliveSent, long AliveReceived, long AliveForwarded, long AliveStale,
    long MembershipRequestsSent, long MembershipResponsesReceived, long DatagramsSent, long DatagramsReceived,
    long BytesSent, long BytesReceived, long DecodeErrors);
