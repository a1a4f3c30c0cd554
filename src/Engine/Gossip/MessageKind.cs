namespace Engine.Gossip;

/// <summary>
/// The kinds of message the store de-duplicates, and how each is identified. Alive, state-info and leadership messages
/// are versioned per peer (a newer <see cref="Membership.PeerTime"/> for the same peer replaces the older message);
/// blocks are identified by channel and sequence number, application data by publisher and (incarnation, sequence);
/// neither is ever replaced.
/// </summary>
internal enum MessageKind : byte
{
    /// <summary>An AliveMessage: identity (peer), version PeerTime.</summary>
    Alive = 1,

    /// <summary>A StateInfo message: identity (channel, peer), version PeerTime.</summary>
    StateInfo = 2,

    /// <summary>A LeadershipMessage: identity (channel, peer), version PeerTime.</summary>
    Leadership = 3,

    /// <summary>A DataMessage (block): identity (channel, sequence number).</summary>
    Block = 4,

    /// <summary>Application data (Engine's AppData): identity (publisher PKI-ID, incarnation, sequence number); never replaced.</summary>
    AppData = 5,
}
