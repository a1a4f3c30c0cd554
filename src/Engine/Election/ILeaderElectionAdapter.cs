namespace Engine.Election;

/// <summary>
/// What the election of one channel and org needs from the node, as Fabric's <c>LeaderElectionAdapter</c>: gossip a
/// leadership message to the org's peers in the channel, and the view of those peers. Incoming leadership messages are
/// handed to <c>LeaderElectionService.HandleMessage</c> by the node (Fabric's <c>Accept</c>), already filtered
/// to this channel and this org. Called under the election's lock: implementations must not block.
/// </summary>
internal interface ILeaderElectionAdapter
{
    /// <summary>Sends (signs, wraps in a CHAN_AND_ORG GossipMessage of the channel) a leadership message to the org's channel peers.</summary>
    void Gossip(in LeadershipFields message);

    /// <summary>How many alive peers of this org are in the channel, this peer excluded (Fabric's <c>len(Peers())</c>).</summary>
    int PeerCount { get; }

    /// <summary>True when <paramref name="pkiId"/> is an alive peer of this org in the channel (Fabric's <c>isAlive</c>).</summary>
    bool IsAlive(ReadOnlySpan<byte> pkiId);
}
