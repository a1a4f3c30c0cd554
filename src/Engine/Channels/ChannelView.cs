using Engine.Transport;

namespace Engine.Channels;

/// <summary>A channel as one peer sees it (a snapshot; see <c>GossipNode.GetChannelView</c>).</summary>
/// <param name="Channel">The channel id.</param>
/// <param name="Height">This peer's ledger height (blocks committed, block #0 included).</param>
/// <param name="IsLeader">True while this peer leads its org in the channel.</param>
/// <param name="Leaders">
/// The peers of this peer's org it believes lead the channel: itself when it leads, and every peer whose leadership
/// declaration it heard within the leader alive threshold (more than one only while an election settles or a partition lasts).
/// </param>
/// <param name="Members">
/// The channel's membership view: the other peers, of any org, that are alive and have published their state (ledger
/// height) in the channel, sorted by endpoint. This peer itself is not listed.
/// </param>
public sealed record ChannelView(string Channel, ulong Height, bool IsLeader, IReadOnlyList<ChannelMember> Leaders, IReadOnlyList<ChannelMember> Members);

/// <summary>A peer of a channel.</summary>
/// <param name="PkiId">Its PKI-ID, lower-case hex.</param>
/// <param name="Endpoint">Where this peer reaches it (another org's peer: its external endpoint).</param>
/// <param name="Org">Its org.</param>
/// <param name="Height">Its ledger height in the channel, as it last published it (0 when unknown).</param>
public sealed record ChannelMember(string PkiId, PeerEndpoint Endpoint, string Org, ulong Height);

/// <summary>A block committed to a channel's ledger at this peer (see <c>GossipNode.BlockCommitted</c>).</summary>
/// <param name="Channel">The channel id.</param>
/// <param name="Number">The block number (commits are strictly in sequence).</param>
/// <param name="IsConfig">True for a config block (anchor peers may have changed).</param>
/// <param name="CommittedAt">When it was committed, by the node's clock.</param>
/// <param name="CutAt">
/// When the orderer cut it, for blocks cut by the orderer's rate cutter (their first 8 bytes are the cut time in UTC ticks,
/// big-endian); null otherwise.
/// </param>
public readonly record struct BlockCommittedEvent(string Channel, ulong Number, bool IsConfig, DateTimeOffset CommittedAt, DateTimeOffset? CutAt);

/// <summary>Block counters of one channel at one peer.</summary>
/// <param name="Delivered">Blocks the orderer delivered to this peer (while it led its org).</param>
/// <param name="PullRepaired">Blocks pull brought that push had missed.</param>
/// <param name="GapRequests">State requests this peer sent for blocks missing below one that arrived (gaps).</param>
/// <param name="BlocksServed">Blocks this peer sent from its archive in answer to others' state requests.</param>
/// <param name="BelowHeight">Pushed blocks dropped because they were below the ledger height.</param>
/// <param name="CatchUpRequests">State requests the anti-entropy loop sent (catching up with the channel's peers).</param>
/// <param name="StateBlocksReceived">Blocks state responses brought (gaps and catch-up) that the ledger committed or buffered.</param>
/// <param name="StateRefused">
/// State responses refused (unrequested, replayed, late, from another peer than asked, blocks out of range, malformed)
/// and state requests refused (reversed or too large a range, a requester not in the channel).
/// </param>
public sealed record ChannelBlockStatistics(long Delivered, long PullRepaired, long GapRequests, long BlocksServed, long BelowHeight,
    long CatchUpRequests, long StateBlocksReceived, long StateRefused);
