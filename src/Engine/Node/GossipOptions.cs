using Engine.Security;
using Engine.Transport;

namespace Engine.Node;

/// <summary>
/// A peer's gossip settings, shaped like Fabric's <c>peer.gossip</c> section and with Fabric's defaults
/// (core.yaml). <see cref="Validate"/> names the first bad value; a node refuses to start with one.
/// </summary>
public sealed class GossipOptions
{
    /// <summary>The organisation (MSP id) this peer belongs to.</summary>
    public string OrgId { get; set; } = "Org1";

    /// <summary>The endpoint other peers of this org use (Fabric's <c>endpoint</c>).</summary>
    public PeerEndpoint Endpoint { get; set; } = PeerEndpoint.Loopback(7051);

    /// <summary>The endpoint peers of other orgs see (Fabric's <c>externalEndpoint</c>); empty means "not visible to other orgs".</summary>
    public PeerEndpoint ExternalEndpoint { get; set; }

    /// <summary>Peers of this org contacted at start (Fabric's <c>bootstrap</c>).</summary>
    public IList<PeerEndpoint> BootstrapPeers { get; } = [];

    /// <summary>Push fanout k (Fabric's <c>propagatePeerNum</c>, default 3).</summary>
    public int PropagatePeerNum { get; set; } = 3;

    /// <summary>How many times the emitter pushes a message (default 1).</summary>
    public int PropagateIterations { get; set; } = 1;

    /// <summary>The emitter flushes when this many messages are buffered (default 10).</summary>
    public int MaxPropagationBurstSize { get; set; } = 10;

    /// <summary>The emitter flushes at least this often (default 10 ms).</summary>
    public TimeSpan MaxPropagationBurstLatency { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Engine only: a message that reaches an idle push emitter (nothing flushed for
    /// <see cref="MaxPropagationBurstLatency"/>) goes out at once instead of waiting for the next tick; under load the
    /// emitter batches as Fabric's does (default true; false is Fabric's emitter). Saves up to one burst latency per hop.
    /// </summary>
    public bool PushFlushWhenIdle { get; set; } = true;

    /// <summary>
    /// Lazy push (Engine only; 0 is Fabric's behaviour): besides its k push copies, each new message's digest is
    /// announced to this many more random peers of its route; a peer that push has not reached within
    /// <see cref="LazyPushGrace"/> asks the announcer for it, instead of waiting for the next pull round (default 3).
    /// With k = 3 about 5% of peers miss every push copy; with 3 more announcements about 0.25% are left to pull.
    /// </summary>
    public int LazyPushPeerNum { get; set; } = 3;

    /// <summary>
    /// How long a peer that heard of a message by announcement waits for push to bring it before asking (default 10 ms,
    /// Fabric's burst latency: an announcer sends its announcements in the same flush as its push copies, and every
    /// holder forwards within one burst latency, so a copy not come by then is more likely missing than late).
    /// </summary>
    public TimeSpan LazyPushGrace { get; set; } = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Engine only: a block too large for a datagram is announced by its digest to the peers push picks and to
    /// <see cref="LazyPushPeerNum"/> more, which ask for it at once, instead of being sent whole to each of the first
    /// (default true). Each peer then receives a block's
    /// body about once instead of about <see cref="PropagatePeerNum"/> times (the copies push sends to peers that
    /// already hold it are most of a block network's bytes), at the price of one datagram round trip per hop. False is
    /// Fabric's behaviour.
    /// </summary>
    public bool LazyBlockPush { get; set; } = true;

    /// <summary>
    /// Engine only: blocks travel a relay tree within the org instead of push (default 0: off, push as
    /// <see cref="LazyBlockPush"/> says). The leader shuffles the org's peers of the channel, splits them into this many
    /// parts and sends the block in one frame to the first peer of each part, naming the rest of the part; each receiver
    /// does the same with the peers it was given. Every peer receives each block once, in one frame and with no
    /// announcement or request, and sends about one; a peer the tree missed (a relay down, a peer it did not know) is
    /// repaired by gap requests, pull and state transfer.
    /// </summary>
    public int BlockRelayFanout { get; set; }

    /// <summary>Period of pull rounds and membership sync (default 4 s).</summary>
    public TimeSpan PullInterval { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>Peers asked per pull round (default 3).</summary>
    public int PullPeerNum { get; set; } = 3;

    /// <summary>How long the pull initiator collects digests (default 1 s).</summary>
    public TimeSpan DigestWaitTime { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a responder honours a Hello's nonce (default 1.5 s).</summary>
    public TimeSpan RequestWaitTime { get; set; } = TimeSpan.FromMilliseconds(1500);

    /// <summary>How long the initiator accepts updates (default 2 s).</summary>
    public TimeSpan ResponseWaitTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Heartbeat period (Fabric's <c>aliveTimeInterval</c>, default 5 s).</summary>
    public TimeSpan AliveTimeInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Silence after which a peer is declared dead (default 25 s); checked every tenth of it.</summary>
    public TimeSpan AliveExpirationTimeout { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>How often dead peers are re-probed (default 25 s).</summary>
    public TimeSpan ReconnectInterval { get; set; } = TimeSpan.FromSeconds(25);

    /// <summary>Dead members are purged after AliveExpirationTimeout × this factor (default 20, i.e. 500 s).</summary>
    public int MsgExpirationFactor { get; set; } = 20;

    /// <summary>Attempts to reach a bootstrap or anchor peer before giving up (default 120).</summary>
    public int MaxConnectionAttempts { get; set; } = 120;

    /// <summary>Alive messages carry the full certificate for this long after start (default 10 s).</summary>
    public TimeSpan PublishCertPeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// This peer's PKI-ID (1 to 64 bytes); null (the default) derives it as SHA-256(<see cref="OrgId"/> ‖ the node's
    /// endpoint text), stable across restarts on the same endpoint.
    /// </summary>
    public byte[]? PkiId { get; set; }

    /// <summary>
    /// How often an unanswered bootstrap peer is contacted again, at most <see cref="MaxConnectionAttempts"/> times.
    /// Null (the default) uses <see cref="ReconnectInterval"/>, as Fabric does.
    /// </summary>
    public TimeSpan? BootstrapRetryInterval { get; set; }

    /// <summary>The most members (alive and dead) the membership table holds; news of more is refused (default 65,536).</summary>
    public int MaxMembers { get; set; } = 65_536;

    /// <summary>
    /// How application data (<see cref="GossipNode.Publish"/>) spreads: push and pull together (the default, Fabric's
    /// way), push alone, or pull alone. Heartbeats and membership are not affected.
    /// </summary>
    public DisseminationMode Dissemination { get; set; } = DisseminationMode.PushAndPull;

    /// <summary>The most messages the node's message store holds; the oldest are evicted beyond it (default 100,000).</summary>
    public int MaxStoredMessages { get; set; } = 100_000;

    /// <summary>
    /// The most bytes the node's message store holds (envelopes plus about 100 bytes per message; default 64 MiB). A
    /// message is held for <see cref="AliveExpirationTimeout"/> × <see cref="MsgExpirationFactor"/> (500 s) at most.
    /// </summary>
    public long MaxStoredBytes { get; set; } = 64L * 1024 * 1024;

    /// <summary>
    /// This peer's identity (org, certificate, private key; e.g. <see cref="CryptoMaterial.LoadPeer"/>). When set, together
    /// with <see cref="TrustStore"/>, alive messages are signed and every received alive, state-info and leadership message
    /// is verified; the PKI-ID is the credential's SHA-256(org ‖ certificate) and <see cref="OrgId"/> must be its org.
    /// Null (the default) runs unsigned: today's behaviour, for pure-transport scale tests.
    /// </summary>
    public PeerCredential? Credential { get; set; }

    /// <summary>The org CAs this peer trusts (e.g. <see cref="CryptoMaterial.LoadTrustStore"/>); required with <see cref="Credential"/>.</summary>
    public TrustStore? TrustStore { get; set; }

    /// <summary>Transport limits and timings.</summary>
    public TransportOptions Transport { get; set; } = new();

    /// <summary>
    /// How liveness spreads: <see cref="HeartbeatMode.Fabric"/> (the default: every peer floods its alive heartbeat, about
    /// k·N receptions per peer per interval) or <see cref="HeartbeatMode.Swim"/> (SWIM-style probing with piggybacked
    /// membership changes: a per-peer cost independent of N; tuned by <see cref="Swim"/>).
    /// </summary>
    public HeartbeatMode HeartbeatMode { get; set; } = HeartbeatMode.Fabric;

    /// <summary>Timings of <see cref="HeartbeatMode.Swim"/> (ignored in Fabric mode).</summary>
    public SwimOptions Swim { get; set; } = new();

    /// <summary>
    /// Leader election of this peer's org in each channel it joins (Fabric's <c>useLeaderElection</c>, <c>orgLeader</c>,
    /// <c>election.*</c>): dynamic by default; both modes on is refused at start.
    /// </summary>
    public Election.ElectionOptions Election { get; set; } = new();

    /// <summary>Each channel's ledger: reorder buffer, in-memory window (<c>maxBlockCountToStore</c>, default 10), largest block.</summary>
    public Ledger.LedgerOptions Ledger { get; set; } = new();

    /// <summary>
    /// State transfer in each channel (Fabric's <c>state.*</c>): the anti-entropy loop every <c>CheckInterval</c> (10 s),
    /// batches of <c>BatchSize</c> (10), <c>ResponseTimeout</c> (3 s), <c>MaxRetries</c> (3).
    /// </summary>
    public Channels.StateTransferOptions State { get; set; } = new();

    /// <summary>How often a changed ledger height is published in the channel's StateInfo at most (Fabric's <c>publishStateInfoInterval</c>, 4 s).</summary>
    public TimeSpan PublishStateInfoInterval { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>How often StateInfo is pulled from random channel peers (Fabric's <c>requestStateInfoInterval</c>, 4 s).</summary>
    public TimeSpan RequestStateInfoInterval { get; set; } = TimeSpan.FromSeconds(4);

    /// <summary>
    /// Which other orgs' peers discovery accepts: by default only those of orgs a joined channel names (so other orgs are
    /// learned through the channels' anchors, never through a bootstrap peer), behind the org boundary (internal endpoints
    /// stay in the org); <see cref="CrossOrgMembership.AnyOrg"/> removes the boundary: every org's peers are accepted and
    /// treated as this org's (Engine only: channel-less multi-org test networks; internal endpoints are not protected).
    /// </summary>
    public CrossOrgMembership CrossOrgMembership { get; set; } = CrossOrgMembership.ChannelOrgsOnly;

    /// <summary>How soon a leader reopens a delivery stream the orderer refused or lost (default 1 s).</summary>
    public TimeSpan OrdererRetryInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How often expiry is checked: a tenth of <see cref="AliveExpirationTimeout"/>, as in Fabric.</summary>
    public TimeSpan AliveExpirationCheckInterval => AliveExpirationTimeout / 10;

    /// <summary>The bootstrap retry period in force: <see cref="BootstrapRetryInterval"/>, or <see cref="ReconnectInterval"/> when unset.</summary>
    public TimeSpan EffectiveBootstrapRetryInterval => BootstrapRetryInterval ?? ReconnectInterval;

    /// <summary>How long a dead member is kept before it is purged.</summary>
    public TimeSpan DeadMemberRetention => AliveExpirationTimeout * MsgExpirationFactor;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value and what is wrong with it.</summary>
    public void Validate()
    {
        Require(!string.IsNullOrWhiteSpace(OrgId), nameof(OrgId), "must not be empty");
        Require(!Endpoint.IsEmpty, nameof(Endpoint), "must be set");
        Positive(PropagatePeerNum, nameof(PropagatePeerNum));
        Positive(PropagateIterations, nameof(PropagateIterations));
        Positive(MaxPropagationBurstSize, nameof(MaxPropagationBurstSize));
        Positive(MaxPropagationBurstLatency, nameof(MaxPropagationBurstLatency));
        Require(LazyPushPeerNum is >= 0 and <= 256, nameof(LazyPushPeerNum), $"must be between 0 and 256, was {LazyPushPeerNum}");
        Require(BlockRelayFanout is >= 0 and <= 64, nameof(BlockRelayFanout), $"must be between 0 and 64, was {BlockRelayFanout}");
        Positive(LazyPushGrace, nameof(LazyPushGrace));
        Positive(PullInterval, nameof(PullInterval));
        Positive(PullPeerNum, nameof(PullPeerNum));
        Positive(DigestWaitTime, nameof(DigestWaitTime));
        Positive(RequestWaitTime, nameof(RequestWaitTime));
        Positive(ResponseWaitTime, nameof(ResponseWaitTime));
        Positive(AliveTimeInterval, nameof(AliveTimeInterval));
        Positive(AliveExpirationTimeout, nameof(AliveExpirationTimeout));
        Require(AliveExpirationTimeout > AliveTimeInterval, nameof(AliveExpirationTimeout),
            $"({AliveExpirationTimeout}) must be longer than {nameof(AliveTimeInterval)} ({AliveTimeInterval}), or every peer would expire between heartbeats");
        Positive(ReconnectInterval, nameof(ReconnectInterval));
        Positive(MsgExpirationFactor, nameof(MsgExpirationFactor));
        Positive(MaxConnectionAttempts, nameof(MaxConnectionAttempts));
        Require(PublishCertPeriod >= TimeSpan.Zero, nameof(PublishCertPeriod), $"must not be negative, was {PublishCertPeriod}");
        Require(PkiId is null || PkiId.Length is >= 1 and <= 64, nameof(PkiId), $"must be 1 to 64 bytes long, was {PkiId?.Length} bytes");
        Require(BootstrapRetryInterval is null || BootstrapRetryInterval > TimeSpan.Zero, nameof(BootstrapRetryInterval), $"must be positive when set, was {BootstrapRetryInterval}");
        Require(MaxMembers is >= 1 and <= 1 << 28, nameof(MaxMembers), $"must be between 1 and {1 << 28}, was {MaxMembers}");
        Require(Enum.IsDefined(Dissemination), nameof(Dissemination), $"is not a known mode, was {(int)Dissemination}");
        Require(MaxStoredMessages is >= 1 and <= 1 << 26, nameof(MaxStoredMessages), $"must be between 1 and {1 << 26}, was {MaxStoredMessages}");
        Require(MaxStoredBytes is >= 64 * 1024 and <= 1L << 40, nameof(MaxStoredBytes), $"must be between 65536 and {1L << 40}, was {MaxStoredBytes}");
        Require(Credential is null || TrustStore is not null, nameof(TrustStore), "must be set when a Credential is");
        Require(Credential is null || HeartbeatMode == HeartbeatMode.Fabric, nameof(HeartbeatMode),
            "must be Fabric when a Credential is set: Swim mode's probes and piggybacked alive messages are not signed yet, so a signed network would accept them unverified");
        Require(Credential is null || Credential.OrgId == OrgId, nameof(OrgId), $"must be the credential's org '{Credential?.OrgId}', was '{OrgId}'");
        Require(Credential is null || PkiId is null || Credential.PkiId.ToArray().AsSpan().SequenceEqual(PkiId), nameof(PkiId),
            "must be left unset (or equal the credential's PKI-ID) when a Credential is set");
        for (int i = 0; i < BootstrapPeers.Count; i++)
        {
            Require(!BootstrapPeers[i].IsEmpty, $"{nameof(BootstrapPeers)}[{i}]", "is empty");
        }

        Require(Enum.IsDefined(HeartbeatMode), nameof(HeartbeatMode), $"is not a known mode, was {(int)HeartbeatMode}");
        Require(Credential is null || HeartbeatMode == HeartbeatMode.Fabric, nameof(HeartbeatMode),
            "must be Fabric when a Credential is set: SWIM probes and their piggybacked news are not signed, so a signed node could not verify them");
        ArgumentNullException.ThrowIfNull(Swim);
        Swim.Validate();
        ArgumentNullException.ThrowIfNull(Transport);
        Transport.Validate();
        Positive(PublishStateInfoInterval, nameof(PublishStateInfoInterval));
        Positive(RequestStateInfoInterval, nameof(RequestStateInfoInterval));
        Positive(OrdererRetryInterval, nameof(OrdererRetryInterval));
        ArgumentNullException.ThrowIfNull(Election);
        Election.Validate();
        ArgumentNullException.ThrowIfNull(Ledger);
        Ledger.Validate();
        ArgumentNullException.ThrowIfNull(State);
        State.Validate();
        Require(State.BatchSize <= Ledger.BlockBufferSize, "State.BatchSize",
            $"({State.BatchSize}) must be at most Ledger.BlockBufferSize ({Ledger.BlockBufferSize}), or the blocks of a batch beyond the reorder buffer would be refused");
    }

    private static void Positive(int value, string name) => Require(value > 0, name, $"must be positive, was {value}");

    private static void Positive(TimeSpan value, string name) => Require(value > TimeSpan.Zero, name, $"must be positive, was {value}");

    internal static void Require(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Gossip option {name} {message}.", name);
        }
    }
}

/// <summary>How a node spreads application data.</summary>
public enum DisseminationMode
{
    /// <summary>Push to <see cref="GossipOptions.PropagatePeerNum"/> random peers, and pull every <see cref="GossipOptions.PullInterval"/> to repair what push missed.</summary>
    PushAndPull = 0,

    /// <summary>Push only: a peer that misses every copy never gets the message.</summary>
    PushOnly = 1,

    /// <summary>Pull only: messages spread one pull round at a time.</summary>
    PullOnly = 2,
}

/// <summary>How a node spreads liveness (see docs/DISCOVERY.md).</summary>
public enum HeartbeatMode
{
    /// <summary>Fabric's way: alive heartbeats every aliveTimeInterval, flooded to propagatePeerNum peers; silence expires.</summary>
    Fabric = 0,

    /// <summary>
    /// SWIM-style: each probe interval a peer pings one member (round robin in random order), asks k others to ping it
    /// on timeout, suspects it when nobody got an ack, and declares it dead when the suspicion is not refuted in time.
    /// Membership changes ride on the probes and acks. Per-peer cost does not grow with the number of peers.
    /// </summary>
    Swim = 1,
}

/// <summary>Timings of <see cref="HeartbeatMode.Swim"/>. Defaults follow SWIM/memberlist's LAN profile.</summary>
public sealed class SwimOptions
{
    /// <summary>One member is probed per interval (default 1 s).</summary>
    public TimeSpan ProbeInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long to wait for a direct ack before asking others to probe (default 500 ms; below ProbeInterval).</summary>
    public TimeSpan ProbeTimeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Members asked to probe on the prober's behalf after a direct timeout (default 3).</summary>
    public int IndirectProbes { get; set; } = 3;

    /// <summary>A suspicion becomes a death after SuspicionMultiplier × log10(N) × ProbeInterval unrefuted (default 4).</summary>
    public int SuspicionMultiplier { get; set; } = 4;

    /// <summary>Each membership change is piggybacked RetransmitMultiplier × log10(N) times by each peer (default 4).</summary>
    public int RetransmitMultiplier { get; set; } = 4;

    /// <summary>The most membership changes carried by one probe or ack (default 24; also bounded by the datagram size).</summary>
    public int MaxPiggyback { get; set; } = 24;

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        const string prefix = "Swim.";
        GossipOptions.Require(ProbeInterval > TimeSpan.Zero, prefix + nameof(ProbeInterval), $"must be positive, was {ProbeInterval}");
        GossipOptions.Require(ProbeTimeout > TimeSpan.Zero && ProbeTimeout < ProbeInterval, prefix + nameof(ProbeTimeout),
            $"({ProbeTimeout}) must be positive and shorter than {nameof(ProbeInterval)} ({ProbeInterval})");
        GossipOptions.Require(IndirectProbes is >= 0 and <= 16, prefix + nameof(IndirectProbes), $"must be between 0 and 16, was {IndirectProbes}");
        GossipOptions.Require(SuspicionMultiplier is >= 1 and <= 100, prefix + nameof(SuspicionMultiplier), $"must be between 1 and 100, was {SuspicionMultiplier}");
        GossipOptions.Require(RetransmitMultiplier is >= 1 and <= 100, prefix + nameof(RetransmitMultiplier), $"must be between 1 and 100, was {RetransmitMultiplier}");
        GossipOptions.Require(MaxPiggyback is >= 1 and <= 256, prefix + nameof(MaxPiggyback), $"must be between 1 and 256, was {MaxPiggyback}");
    }
}

/// <summary>Which other orgs' peers a node accepts into its membership.</summary>
public enum CrossOrgMembership
{
    /// <summary>Only peers of orgs named by a channel the node joined (Fabric's model: other orgs come through anchors).</summary>
    ChannelOrgsOnly = 0,

    /// <summary>Peers of any org, no org boundary (Engine only, for channel-less multi-org networks).</summary>
    AnyOrg = 1,
}
