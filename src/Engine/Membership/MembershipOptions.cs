namespace Engine.Membership;

/// <summary>Limits and timings of a <see cref="MembershipTable"/>. Defaults follow Fabric's gossip defaults.</summary>
public sealed class MembershipOptions
{
    /// <summary>
    /// The most members (alive, suspect or dead; purged members do not count) the table holds; news of further peers is
    /// rejected. Bounds memory against a flood of identities. Default 65,536.
    /// </summary>
    public int MaxMembers { get; set; } = 65_536;

    /// <summary>How many members to size the table for up front (it grows past this without blocking readers). Default 256.</summary>
    public int InitialCapacity { get; set; } = 256;

    /// <summary>The longest PKI-ID accepted, in bytes (Fabric's are SHA-256 hashes: 32). Default 64.</summary>
    public int MaxPkiIdLength { get; set; } = 64;

    /// <summary>Silence after which an alive member is declared dead (Fabric <c>aliveExpirationTimeout</c>). Default 25 s.</summary>
    public TimeSpan AliveExpirationTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>
    /// How long a dead member is kept, counted from when it was last heard of, before it is purged (Fabric: the alive
    /// message lifetime, aliveExpirationTimeout × msgExpirationFactor). Default 500 s.
    /// </summary>
    public TimeSpan PurgeAfter { get; set; } = TimeSpan.FromSeconds(500);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the first invalid setting.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxMembers, 1, nameof(MaxMembers));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxMembers, 1 << 28, nameof(MaxMembers));
        ArgumentOutOfRangeException.ThrowIfLessThan(InitialCapacity, 0, nameof(InitialCapacity));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPkiIdLength, 1, nameof(MaxPkiIdLength));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(MaxPkiIdLength, 1024, nameof(MaxPkiIdLength));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(AliveExpirationTimeout, TimeSpan.Zero, nameof(AliveExpirationTimeout));
        ArgumentOutOfRangeException.ThrowIfLessThan(PurgeAfter, AliveExpirationTimeout, nameof(PurgeAfter));
    }
}
