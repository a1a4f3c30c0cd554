namespace Engine.Peer.Hosting;

/// <summary>What <c>status</c> shows: the peer, its membership view, and its counters. Sent as JSON by the admin port.</summary>
internal sealed record PeerStatus(
    string PeerId,
    string Org,
    string Endpoint,
    string PkiId,
    bool Running,
    double UptimeSeconds,
    IReadOnlyList<MemberStatus> Members,
    IReadOnlyList<CounterStatus> Counters,
    IReadOnlyList<ChannelStatus>? Channels = null);

/// <summary>
/// A channel of the peer: <see cref="State"/> "joined", or while it is not (yet) joined what it waits for; its ledger
/// height; whether it leads its org and whom it sees lead the org (leadership messages stay inside an org, so a peer
/// knows its own org's leaders only); the channel's membership view (the other peers with state in the channel, of
/// every org it sees, with the ledger height each last published); the orderer; block counters.
/// </summary>
internal sealed record ChannelStatus(
    string Channel,
    string State,
    ulong Height,
    bool IsLeader,
    IReadOnlyList<string> Leaders,
    IReadOnlyList<ChannelMemberStatus> Members,
    string? Orderer,
    IReadOnlyList<CounterStatus> Counters);

/// <summary>A peer in a channel's membership view, with the ledger height it last published.</summary>
internal sealed record ChannelMemberStatus(string Endpoint, string Org, string PkiId, ulong Height);

/// <summary>One member of the view as this peer sees it. State is "alive" or "dead".</summary>
internal sealed record MemberStatus(string PkiId, string Endpoint, string Org, string State, ulong Incarnation, ulong Sequence);

/// <summary>A named counter (monotonic since start).</summary>
internal sealed record CounterStatus(string Name, long Value);
