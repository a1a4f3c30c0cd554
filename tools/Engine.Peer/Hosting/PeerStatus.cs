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

/// <summary>A channel the peer joined: its ledger height, whether it leads its org, who it sees lead, how many members it sees.</summary>
internal sealed record ChannelStatus(string Channel, ulong Height, bool IsLeader, IReadOnlyList<string> Leaders, int Members);

/// <summary>One member of the view as this peer sees it. State is "alive" or "dead".</summary>
internal sealed record MemberStatus(string PkiId, string Endpoint, string Org, string State, ulong Incarnation, ulong Sequence);

/// <summary>A named counter (monotonic since start).</summary>
internal sealed record CounterStatus(string Name, long Value);
