using Engine.Transport;

namespace Engine.Discovery;

/// <summary>
/// What discovery needs to know, resolved by the node from its options (discovery sits below the node and does not
/// see <c>GossipOptions</c>). Timings are Fabric's <c>peer.gossip</c> ones.
/// </summary>
internal sealed class DiscoverySettings
{
    public required string OrgId { get; init; }

    public required byte[] PkiId { get; init; }

    /// <summary>Signs and verifies alive messages when set (the node has a credential); null runs unsigned.</summary>
    public Security.NodeSecurity? Security { get; init; }

    /// <summary>The endpoint announced in this peer's alive messages.</summary>
    public required PeerEndpoint Endpoint { get; init; }

    /// <summary>
    /// The endpoint peers of other orgs see (Fabric's externalEndpoint); empty: this peer is not visible outside its org.
    /// When set, alive messages carry it and the internal endpoint travels in the secret envelope, stripped for other orgs.
    /// </summary>
    public PeerEndpoint ExternalEndpoint { get; init; }

    /// <summary>No org boundary: peers of every org are accepted and treated as this org's (Engine only, channel-less multi-org networks).</summary>
    public bool AnyOrg { get; init; }

    public byte[] Metadata { get; init; } = [];

    public IReadOnlyList<PeerEndpoint> BootstrapPeers { get; init; } = [];

    public TimeSpan AliveInterval { get; init; } = TimeSpan.FromSeconds(5);

    public TimeSpan AliveExpirationTimeout { get; init; } = TimeSpan.FromSeconds(25);

    public TimeSpan ExpirationCheckInterval { get; init; } = TimeSpan.FromSeconds(2.5);

    public TimeSpan ReconnectInterval { get; init; } = TimeSpan.FromSeconds(25);

    public TimeSpan BootstrapRetryInterval { get; init; } = TimeSpan.FromSeconds(25);

    public int MaxConnectionAttempts { get; init; } = 120;

    /// <summary>Period of membership sync rounds (Fabric: pullInterval).</summary>
    public TimeSpan SyncInterval { get; init; } = TimeSpan.FromSeconds(4);

    /// <summary>Peers asked per sync round (Fabric: pullPeerNum).</summary>
    public int SyncPeerNum { get; init; } = 3;

    public int PropagatePeerNum { get; init; } = 3;

    public int MaxPropagationBurstSize { get; init; } = 10;

    public TimeSpan MaxPropagationBurstLatency { get; init; } = TimeSpan.FromMilliseconds(10);

    /// <summary>SWIM-style probing instead of Fabric's flooding (null: Fabric's flooding, the default).</summary>
    public SwimSettings? Swim { get; init; }
}

/// <summary>Timings of the SWIM-style strategy (see <see cref="SwimHeartbeatStrategy"/>).</summary>
internal sealed record SwimSettings
{
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromMilliseconds(500);

    public int IndirectProbes { get; init; } = 3;

    public int SuspicionMultiplier { get; init; } = 4;

    public int RetransmitMultiplier { get; init; } = 4;

    public int MaxPiggyback { get; init; } = 24;
}
