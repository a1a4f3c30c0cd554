using Engine.Peer.Hosting;

namespace Engine.Peer.Ordering;

/// <summary>What <c>status</c> shows for an orderer process: its channels (height, orgs and anchors, open delivery streams) and counters.</summary>
internal sealed record OrdererStatus(
    string OrdererId,
    string Endpoint,
    bool Running,
    double UptimeSeconds,
    IReadOnlyList<OrdererChannelStatus> Channels,
    IReadOnlyList<CounterStatus> Counters);

/// <summary>
/// One channel at the orderer: blocks cut (genesis included), the cutting rate (0: on demand only), each org's anchor
/// peers as the last config block says, and the delivery streams open (Fabric's design: one per org, its leader's).
/// </summary>
internal sealed record OrdererChannelStatus(string Channel, ulong Height, double BlocksPerSecond, IReadOnlyList<OrdererOrgStatus> Orgs, IReadOnlyList<OrdererStreamStatus> Streams);

/// <summary>An org of a channel and its anchor peers.</summary>
internal sealed record OrdererOrgStatus(string Org, IReadOnlyList<string> AnchorPeers);

/// <summary>An open delivery stream: the peer it goes to and the org that peer named.</summary>
internal sealed record OrdererStreamStatus(string Peer, string Org);
