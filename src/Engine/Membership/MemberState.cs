namespace Engine.Membership;

/// <summary>
/// Where a member stands. At one <see cref="PeerTime"/> the states are ordered Alive &lt; Suspect &lt; Dead: a verdict
/// of suspicion or death about a given time overrides news that the member was alive at that same time, and only
/// news with a newer time brings a member back (see <see cref="MembershipTable"/>).
/// </summary>
public enum MemberState
{
    /// <summary>Heard from recently; sampled for gossip.</summary>
    Alive = 0,

    /// <summary>
    /// Suspected of failure but still contacted (SWIM-style modes; Fabric mode goes straight from alive to dead). A
    /// newer time from the member refutes the suspicion.
    /// </summary>
    Suspect = 1,

    /// <summary>Silent for longer than the expiry timeout, or unreachable; not sampled, re-probed by discovery.</summary>
    Dead = 2,

    /// <summary>Removed from the table (dead for longer than the purge time). Terminal for this <see cref="Member"/> object.</summary>
    Purged = 3,
}
