namespace Engine.Election;

/// <summary>
/// Leader election settings of one peer, with Fabric's names and defaults (<c>peer.gossip.useLeaderElection</c>,
/// <c>peer.gossip.orgLeader</c>, <c>peer.gossip.election.*</c>). Dynamic election is the default; a static org leader is
/// <see cref="OrgLeader"/> with <see cref="UseLeaderElection"/> off. Both on is a configuration error
/// (<see cref="Validate"/>); both off makes the peer a static follower, never a leader.
/// </summary>
public sealed class ElectionOptions
{
    /// <summary>Elect the org's leader dynamically (Fabric's <c>useLeaderElection</c>; default true).</summary>
    public bool UseLeaderElection { get; set; } = true;

    /// <summary>This peer is its org's leader, statically (Fabric's <c>orgLeader</c>; default false).</summary>
    public bool OrgLeader { get; set; }

    /// <summary>The longest wait for a stable membership view before the first election (default 15 s).</summary>
    public TimeSpan StartupGracePeriod { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>How often the view size is sampled while waiting for it to stabilise (default 1 s).</summary>
    public TimeSpan MembershipSampleInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A leader declares itself every half of this; a follower that hears no declaration for this long starts an election
    /// (default 10 s).
    /// </summary>
    public TimeSpan LeaderAliveThreshold { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long a candidate collects other proposals before deciding (default 5 s).</summary>
    public TimeSpan LeaderElectionDuration { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The longest a connected org waits for a new leader after its leader stops: a follower's window that saw the
    /// leader's last declaration, one silent window, then one election (2 × <see cref="LeaderAliveThreshold"/> +
    /// <see cref="LeaderElectionDuration"/>).
    /// </summary>
    public TimeSpan LeaderTakeoverBound => (2 * LeaderAliveThreshold) + LeaderElectionDuration;

    /// <summary>
    /// Throws <see cref="ArgumentException"/> naming the first bad value, and for <see cref="UseLeaderElection"/> together
    /// with <see cref="OrgLeader"/> the configuration error Fabric refuses to start with.
    /// </summary>
    public void Validate()
    {
        if (UseLeaderElection && OrgLeader)
        {
            throw new ArgumentException(
                "Election options UseLeaderElection (peer.gossip.useLeaderElection) and OrgLeader (peer.gossip.orgLeader) are both true: " +
                "a peer either takes part in dynamic election or is its org's static leader, not both. Set one of them to false.",
                nameof(OrgLeader));
        }

        Positive(StartupGracePeriod, nameof(StartupGracePeriod));
        Positive(MembershipSampleInterval, nameof(MembershipSampleInterval));
        Positive(LeaderAliveThreshold, nameof(LeaderAliveThreshold));
        Positive(LeaderElectionDuration, nameof(LeaderElectionDuration));
    }

    private static void Positive(TimeSpan value, string name)
    {
        if (value <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Election option {name} must be positive, was {value}.", name);
        }
    }
}
