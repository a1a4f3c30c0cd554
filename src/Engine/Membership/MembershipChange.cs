namespace Engine.Membership;

/// <summary>What an update did to the membership view (so the discovery layer can log and count view changes).</summary>
public enum MembershipChange
{
    /// <summary>Nothing: the news was not newer than what the table holds (or the verdict did not apply).</summary>
    Stale = 0,

    /// <summary>A member the table did not know was added.</summary>
    Added,

    /// <summary>A known member's time moved forward; its state did not change.</summary>
    Refreshed,

    /// <summary>A dead (or suspected) member is alive again.</summary>
    Resurrected,

    /// <summary>An alive member came back with a new incarnation (it restarted).</summary>
    Restarted,

    /// <summary>An alive member became suspect.</summary>
    Suspected,

    /// <summary>A member became dead.</summary>
    Died,

    /// <summary>A dead member was removed from the table.</summary>
    Purged,

    /// <summary>
    /// The update was refused: the PKI-ID is empty or longer than <see cref="MembershipOptions.MaxPkiIdLength"/>, the
    /// state is not one an update may carry, the table is full (<see cref="MembershipOptions.MaxMembers"/>), or the
    /// member's organization is new and the process already holds 2^23 − 1 organization names.
    /// </summary>
    Rejected,
}
