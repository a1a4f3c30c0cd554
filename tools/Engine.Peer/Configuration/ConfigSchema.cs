using System.Globalization;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using P = Engine.Peer.Configuration.ConfigValueParsers;

namespace Engine.Peer.Configuration;

/// <summary>
/// Every key the peer accepts, in the order docs/CONFIGURATION.md lists them. Keys are case-insensitive; the
/// canonical spelling is Fabric's (camelCase). The <c>gossip</c> section mirrors Fabric's <c>peer.gossip</c>.
/// </summary>
internal static class ConfigSchema
{
    /// <summary>The top-level sections; an environment variable ENGINE_&lt;SECTION&gt;_... belongs to the configuration.</summary>
    public static readonly IReadOnlyList<string> Sections = ["peer", "gossip", "transport", "admin", "log"];

    public static readonly IReadOnlyList<ConfigKey> Keys =
    [
        Text("peer.id", "peer0", "The peer's name in logs and in status output (Fabric's peer.id).",
            (s, v) => s.PeerId = v, s => s.PeerId),
        Text("peer.localMspId", "Org1", "The organisation (MSP id) this peer belongs to (Fabric's peer.localMspId).",
            (s, v) => s.Gossip.OrgId = v, s => s.Gossip.OrgId, optionName: "OrgId"),
        new ConfigKey("peer.pkiId", "hex", "",
            "This peer's PKI-ID, 1 to 64 bytes as hex. Empty: SHA-256 of localMspId and the endpoint, stable across restarts on one endpoint.",
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                string t = text.Trim();
                if (t.Length == 0)
                {
                    s.Gossip.PkiId = null;
                    return null;
                }

                try
                {
                    byte[] id = Convert.FromHexString(t);
                    if (id.Length is < 1 or > 64)
                    {
                        return $"must be 1 to 64 bytes, was {id.Length}";
                    }

                    s.Gossip.PkiId = id;
                    return null;
                }
                catch (FormatException)
                {
                    return $"'{text}' is not hex (an even number of the digits 0-9, a-f)";
                }
            },
            s => s.Gossip.PkiId is { } id ? Convert.ToHexStringLower(id) : "")
        { OptionName = "PkiId" },
        PathKey("peer.mspConfigPath",
            "This peer's certificate and key: a directory with cert.pem and key.pem, as `certs` writes them (DIR/ORG/peers/PEER). Set: alive messages are signed and every received one verified; the PKI-ID is the certificate's and localMspId must be its org. Empty: unsigned.",
            (s, v) => s.MspConfigPath = v, s => s.MspConfigPath),
        PathKey("peer.cryptoDir",
            "The crypto material whose org CAs this peer trusts (every ORG/ca/cert.pem under it). Empty: the material mspConfigPath lies in (three levels up).",
            (s, v) => s.CryptoDir = v, s => s.CryptoDir),
        Bool("peer.tls.enabled", "false", "Mutual TLS on every TCP connection with the mspConfigPath certificate; the handshake binds the PKI-ID to it. Needs mspConfigPath.",
            (s, v) => s.TlsEnabled = v, s => s.TlsEnabled),
        Endpoint("peer.listenAddress", "", allowEmpty: true,
            "Address and port to bind, UDP and TCP on the same port; port 0 picks a free port. Empty: the address and port of gossip.endpoint.",
            (s, v) => s.ListenAddress = v, s => s.ListenAddress, optionName: "ListenEndpoint", bind: true),
        ChannelList("peer.channels",
            "Engine's own: the channels this peer joins at start, each as a mapping {name, orderer} or NAME@HOST:PORT (spaces or commas between items in an environment variable or --set). The peer fetches each channel's genesis block (block #0) from the orderer's delivery service, retrying until the orderer has it, then joins.",
            (s, v) =>
            {
                s.Channels.Clear();
                s.Channels.AddRange(v);
            },
            s => s.Channels),

        EndpointList("gossip.bootstrap", "",
            "Peers of this org contacted at start, host:port separated by spaces or commas, or a YAML list.",
            (s, v) =>
            {
                s.Gossip.BootstrapPeers.Clear();
                foreach (var e in v)
                {
                    s.Gossip.BootstrapPeers.Add(e);
                }
            },
            s => s.Gossip.BootstrapPeers, optionName: "BootstrapPeers"),
        Endpoint("gossip.endpoint", "127.0.0.1:7051", allowEmpty: false,
            "The endpoint other peers of this org use to reach this peer; port 0 binds a free port and advertises that one.",
            (s, v) => s.Gossip.Endpoint = v, s => s.Gossip.Endpoint, optionName: "Endpoint", bind: true),
        Endpoint("gossip.externalEndpoint", "", allowEmpty: true,
            "The endpoint peers of other orgs see; empty: this peer is not visible to other orgs.",
            (s, v) => s.Gossip.ExternalEndpoint = v, s => s.Gossip.ExternalEndpoint, optionName: "ExternalEndpoint"),
        Bool("gossip.useLeaderElection", "true", "Elect the org's leader in each channel dynamically (Fabric's algorithm). Exclusive with orgLeader.",
            (s, v) => s.UseLeaderElection = v, s => s.UseLeaderElection),
        Bool("gossip.orgLeader", "false", "This peer is its org's static leader in every channel it joins: it opens the orderer's delivery stream at once. Exclusive with useLeaderElection; with both false the peer never leads.",
            (s, v) => s.OrgLeader = v, s => s.OrgLeader),
        Int("gossip.propagateIterations", "1", 1, 1000, "Times the push emitter sends each message.",
            (s, v) => s.Gossip.PropagateIterations = v, s => s.Gossip.PropagateIterations, "PropagateIterations"),
        Int("gossip.propagatePeerNum", "3", 1, 1000, "Push fanout: peers each message is pushed to.",
            (s, v) => s.Gossip.PropagatePeerNum = v, s => s.Gossip.PropagatePeerNum, "PropagatePeerNum"),
        Int("gossip.maxPropagationBurstSize", "10", 1, 100_000, "The push emitter flushes when this many messages are buffered.",
            (s, v) => s.Gossip.MaxPropagationBurstSize = v, s => s.Gossip.MaxPropagationBurstSize, "MaxPropagationBurstSize"),
        Duration("gossip.maxPropagationBurstLatency", "10ms", "The push emitter flushes at least this often.",
            (s, v) => s.Gossip.MaxPropagationBurstLatency = v, s => s.Gossip.MaxPropagationBurstLatency, "MaxPropagationBurstLatency"),
        Bool("gossip.pushFlushWhenIdle", "true", "Engine only: a message that reaches an idle push emitter (nothing flushed for maxPropagationBurstLatency) goes out at once; under load the emitter batches as Fabric's does (false: Fabric's emitter).",
            (s, v) => s.Gossip.PushFlushWhenIdle = v, s => s.Gossip.PushFlushWhenIdle, "PushFlushWhenIdle"),
        Int("gossip.lazyPushPeerNum", "3", 0, 256, "Engine only: peers each new message's digest is also announced to; a peer push missed asks for it after lazyPushGrace instead of waiting for pull (0: Fabric's push alone).",
            (s, v) => s.Gossip.LazyPushPeerNum = v, s => s.Gossip.LazyPushPeerNum, "LazyPushPeerNum"),
        Duration("gossip.lazyPushGrace", "10ms", "Engine only: how long an announced message may take to arrive by push before it is asked for.",
            (s, v) => s.Gossip.LazyPushGrace = v, s => s.Gossip.LazyPushGrace, "LazyPushGrace"),
        Bool("gossip.lazyBlockPush", "true", "Engine only: a block too large for a datagram is announced by digest to the peers push picks, which ask for it at once, instead of being sent whole to each (each peer receives a block's body about once instead of propagatePeerNum times; false: Fabric's push).",
            (s, v) => s.Gossip.LazyBlockPush = v, s => s.Gossip.LazyBlockPush, "LazyBlockPush"),
        Int("gossip.blockRelayFanout", "0", 0, 64, "Engine only: blocks travel a relay tree within the org: the leader sends each block to this many peers, each frame naming the rest of its part of the org, and each receiver does the same; every peer receives each block once, in order, with no announcement or request (0: blocks go by push, as lazyBlockPush says).",
            (s, v) => s.Gossip.BlockRelayFanout = v, s => s.Gossip.BlockRelayFanout, "BlockRelayFanout"),
        Int("gossip.maxStoredMessages", "100000", 1, 1 << 26, "Engine's own: the most messages the message store (what pull serves) holds; the oldest are evicted beyond it.",
            (s, v) => s.Gossip.MaxStoredMessages = v, s => s.Gossip.MaxStoredMessages, "MaxStoredMessages"),
        LongBytes("gossip.maxStoredBytes", "64MiB", 64 * 1024, 1L << 40, "Engine's own: the most bytes the message store holds (envelopes plus about 100 bytes per message).",
            (s, v) => s.Gossip.MaxStoredBytes = v, s => s.Gossip.MaxStoredBytes, "MaxStoredBytes"),
        Duration("gossip.pullInterval", "4s", "Period of pull rounds and of membership synchronisation.",
            (s, v) => s.Gossip.PullInterval = v, s => s.Gossip.PullInterval, "PullInterval"),
        Int("gossip.pullPeerNum", "3", 1, 1000, "Peers asked per pull round and per membership synchronisation.",
            (s, v) => s.Gossip.PullPeerNum = v, s => s.Gossip.PullPeerNum, "PullPeerNum"),
        Duration("gossip.requestWaitTime", "1500ms", "How long a pull responder honours a Hello's nonce.",
            (s, v) => s.Gossip.RequestWaitTime = v, s => s.Gossip.RequestWaitTime, "RequestWaitTime"),
        Duration("gossip.responseWaitTime", "2s", "How long a pull initiator accepts updates.",
            (s, v) => s.Gossip.ResponseWaitTime = v, s => s.Gossip.ResponseWaitTime, "ResponseWaitTime"),
        Duration("gossip.digestWaitTime", "1s", "How long a pull initiator collects digests.",
            (s, v) => s.Gossip.DigestWaitTime = v, s => s.Gossip.DigestWaitTime, "DigestWaitTime"),
        Duration("gossip.publishStateInfoInterval", "4s", "How often a channel member re-publishes its StateInfo (ledger height); it also publishes at once when its height changes.",
            (s, v) => s.Gossip.PublishStateInfoInterval = v, s => s.Gossip.PublishStateInfoInterval, "PublishStateInfoInterval"),
        Duration("gossip.requestStateInfoInterval", "4s", "How often a channel member pulls the other members' StateInfo.",
            (s, v) => s.Gossip.RequestStateInfoInterval = v, s => s.Gossip.RequestStateInfoInterval, "RequestStateInfoInterval"),
        Int("gossip.maxBlockCountToStore", "10", 1, 100_000, "Committed blocks each channel keeps in memory to serve pull and gap requests (the window).",
            (s, v) => s.Gossip.Ledger.MaxBlockCountToStore = v, s => s.Gossip.Ledger.MaxBlockCountToStore, "MaxBlockCountToStore"),
        Int("gossip.archiveBlockCount", "1000", 0, 10_000_000, "Engine's own: committed blocks each channel keeps in memory to serve state transfer (the archive, counting the window); 0 keeps the window only.",
            (s, v) => s.Gossip.Ledger.ArchiveBlockCount = v, s => s.Gossip.Ledger.ArchiveBlockCount, "ArchiveBlockCount"),
        LongBytes("gossip.archiveBytes", "256MiB", 0, 1L << 40, "Engine's own: the most block bytes a channel's archive holds; the oldest blocks are dropped first, the window is always kept.",
            (s, v) => s.Gossip.Ledger.ArchiveBytes = v, s => s.Gossip.Ledger.ArchiveBytes, "ArchiveBytes"),
        LongBytes("gossip.pretouchBytes", "0", 0, 1L << 40, "Engine's own: block memory each channel's ledger maps and touches when it is created, so the first blocks do not pay first-touch page faults while a stream runs (Aeron's pre-touch); size it to the archive. At most the reorder buffer plus the archive.",
            (s, v) => s.Gossip.Ledger.PretouchBytes = v, s => s.Gossip.Ledger.PretouchBytes, "PretouchBytes"),
        Bytes("gossip.maxBlockBytes", "16MiB", "Engine's own: the largest block envelope a channel accepts; a larger one is refused and counted. 64 bytes to 1GiB.",
            (s, v) => s.Gossip.Ledger.MaxBlockBytes = v, s => s.Gossip.Ledger.MaxBlockBytes, "MaxBlockBytes", min: 64, max: 1 << 30),
        Duration("gossip.ordererRetryInterval", "1s", "Engine's own: how soon a leader reopens a delivery stream the orderer refused or lost.",
            (s, v) => s.Gossip.OrdererRetryInterval = v, s => s.Gossip.OrdererRetryInterval, "OrdererRetryInterval"),
        Duration("gossip.aliveTimeInterval", "5s", "Heartbeat (alive message) period.",
            (s, v) => s.Gossip.AliveTimeInterval = v, s => s.Gossip.AliveTimeInterval, "AliveTimeInterval"),
        Duration("gossip.aliveExpirationTimeout", "25s",
            "Silence after which a peer is declared dead; checked every tenth of it. Must exceed aliveTimeInterval.",
            (s, v) => s.Gossip.AliveExpirationTimeout = v, s => s.Gossip.AliveExpirationTimeout, "AliveExpirationTimeout"),
        Duration("gossip.reconnectInterval", "25s", "How often dead peers are probed again.",
            (s, v) => s.Gossip.ReconnectInterval = v, s => s.Gossip.ReconnectInterval, "ReconnectInterval"),
        Int("gossip.msgExpirationFactor", "20", 1, 100_000,
            "Dead members are purged after aliveExpirationTimeout times this factor (500 s by default).",
            (s, v) => s.Gossip.MsgExpirationFactor = v, s => s.Gossip.MsgExpirationFactor, "MsgExpirationFactor"),
        Int("gossip.maxConnectionAttempts", "120", 1, int.MaxValue, "Attempts to reach a bootstrap peer before giving up.",
            (s, v) => s.Gossip.MaxConnectionAttempts = v, s => s.Gossip.MaxConnectionAttempts, "MaxConnectionAttempts"),
        Duration("gossip.publishCertPeriod", "10s", "Alive messages carry the full certificate for this long after start.",
            (s, v) => s.Gossip.PublishCertPeriod = v, s => s.Gossip.PublishCertPeriod, "PublishCertPeriod"),
        OptionalDuration("gossip.bootstrapRetryInterval", "",
            "Engine's own: how often an unanswered bootstrap peer is contacted again (at most maxConnectionAttempts times). Empty: reconnectInterval, as in Fabric.",
            (s, v) => s.Gossip.BootstrapRetryInterval = v, s => s.Gossip.BootstrapRetryInterval, "BootstrapRetryInterval"),
        Int("gossip.maxMembers", "65536", 1, 1 << 28,
            "Engine's own: the most members (alive and dead) the membership table holds; news of more is refused.",
            (s, v) => s.Gossip.MaxMembers = v, s => s.Gossip.MaxMembers, "MaxMembers"),
        Choice("gossip.heartbeatMode", "fabric", ["fabric", "swim"],
            "Engine's own: how liveness spreads. fabric: alive heartbeats flooded to propagatePeerNum peers, dead after aliveExpirationTimeout of silence (per-peer cost grows with N). swim: SWIM-style probing, suspicion refuted by a newer seq_num, membership changes piggybacked (per-peer cost independent of N).",
            (s, v) => s.Gossip.HeartbeatMode = Enum.Parse<Engine.Node.HeartbeatMode>(v, ignoreCase: true), s => s.Gossip.HeartbeatMode.ToString().ToLowerInvariant()),
        Duration("gossip.swimProbeInterval", "1s", "Engine's own, swim mode: one member is probed per interval.",
            (s, v) => s.Gossip.Swim.ProbeInterval = v, s => s.Gossip.Swim.ProbeInterval, "Swim.ProbeInterval"),
        Duration("gossip.swimProbeTimeout", "500ms", "Engine's own, swim mode: how long to wait for a direct ack before asking others to probe; shorter than swimProbeInterval.",
            (s, v) => s.Gossip.Swim.ProbeTimeout = v, s => s.Gossip.Swim.ProbeTimeout, "Swim.ProbeTimeout"),
        Int("gossip.swimIndirectProbes", "3", 0, 16, "Engine's own, swim mode: members asked to probe on this peer's behalf after a direct timeout.",
            (s, v) => s.Gossip.Swim.IndirectProbes = v, s => s.Gossip.Swim.IndirectProbes, "Swim.IndirectProbes"),
        Int("gossip.swimSuspicionMultiplier", "4", 1, 100, "Engine's own, swim mode: a suspicion becomes a death after this × log10(N) probe intervals unrefuted.",
            (s, v) => s.Gossip.Swim.SuspicionMultiplier = v, s => s.Gossip.Swim.SuspicionMultiplier, "Swim.SuspicionMultiplier"),
        Int("gossip.swimRetransmitMultiplier", "4", 1, 100, "Engine's own, swim mode: each membership change is piggybacked this × log10(N) times by each peer.",
            (s, v) => s.Gossip.Swim.RetransmitMultiplier = v, s => s.Gossip.Swim.RetransmitMultiplier, "Swim.RetransmitMultiplier"),
        Int("gossip.swimMaxPiggyback", "24", 1, 256, "Engine's own, swim mode: the most membership changes one probe or ack carries (also bounded by the datagram size).",
            (s, v) => s.Gossip.Swim.MaxPiggyback = v, s => s.Gossip.Swim.MaxPiggyback, "Swim.MaxPiggyback"),
        Duration("gossip.dialTimeout", "3s", "How long a TCP connect may take.",
            (s, v) => s.Gossip.Transport.ConnectTimeout = v, s => s.Gossip.Transport.ConnectTimeout, "ConnectTimeout"),
        Duration("gossip.election.startupGracePeriod", "15s", "Wait for a stable membership view before the first election.",
            (s, v) => s.ElectionStartupGracePeriod = v, s => s.ElectionStartupGracePeriod),
        Duration("gossip.election.membershipSampleInterval", "1s", "How often the view is sampled to decide it is stable.",
            (s, v) => s.ElectionMembershipSampleInterval = v, s => s.ElectionMembershipSampleInterval),
        Duration("gossip.election.leaderAliveThreshold", "10s",
            "Followers re-elect after this long without a leader declaration; the leader declares every half of it.",
            (s, v) => s.ElectionLeaderAliveThreshold = v, s => s.ElectionLeaderAliveThreshold),
        Duration("gossip.election.leaderElectionDuration", "5s", "How long proposals are collected in an election.",
            (s, v) => s.ElectionLeaderElectionDuration = v, s => s.ElectionLeaderElectionDuration),
        Bool("gossip.state.enabled", "true", "Run state transfer's anti-entropy loop: a peer behind its channel's peers asks them for the blocks it lacks. Fabric 2.2+ defaults to false (every Fabric peer can reach the orderer); Engine's followers have no orderer stream, so this is how they catch up. Off, a peer still serves state requests and still asks for gaps below a block that arrives.",
            (s, v) => s.Gossip.State.Enabled = v, s => s.Gossip.State.Enabled, "Enabled"),
        Duration("gossip.state.checkInterval", "10s", "How often the ledger height is compared with the channel peers' heights.",
            (s, v) => s.Gossip.State.CheckInterval = v, s => s.Gossip.State.CheckInterval, "CheckInterval"),
        Duration("gossip.state.responseTimeout", "3s", "How long to wait for the answer to a state request before asking another peer.",
            (s, v) => s.Gossip.State.ResponseTimeout = v, s => s.Gossip.State.ResponseTimeout, "ResponseTimeout"),
        Int("gossip.state.batchSize", "10", 1, 10_000, "Blocks asked for in one state request; a responder refuses a request for more than this + 1. At most gossip.state.blockBufferSize.",
            (s, v) => s.Gossip.State.BatchSize = v, s => s.Gossip.State.BatchSize, "BatchSize"),
        Int("gossip.state.blockBufferSize", "20", 1, 100_000, "Blocks that arrive ahead of the next one to commit are held (the reorder buffer) when their number is below height + this; a block further ahead is refused.",
            (s, v) => s.Gossip.Ledger.BlockBufferSize = v, s => s.Gossip.Ledger.BlockBufferSize, "BlockBufferSize"),
        Int("gossip.state.maxRetries", "3", 0, 1000, "Further peers asked for a batch nobody answered before the round gives up until the next check.",
            (s, v) => s.Gossip.State.MaxRetries = v, s => s.Gossip.State.MaxRetries, "MaxRetries"),
        Bytes("gossip.state.maxResponseBytes", "2MiB", "Engine's own: the most block bytes one state response carries (a single larger block still goes alone). 1KiB to 1GiB.",
            (s, v) => s.Gossip.State.MaxResponseBytes = v, s => s.Gossip.State.MaxResponseBytes, "MaxResponseBytes", min: 1024, max: 1 << 30),

        Bytes("transport.maxDatagramPayload", "1400", "Largest UDP datagram body (heartbeats); 1400 fits an Ethernet MTU.",
            (s, v) => s.Gossip.Transport.MaxDatagramPayload = v, s => s.Gossip.Transport.MaxDatagramPayload, "MaxDatagramPayload"),
        Bytes("transport.maxFramePayload", "16MiB", "Largest TCP frame body, before and after decompression.",
            (s, v) => s.Gossip.Transport.MaxFramePayload = v, s => s.Gossip.Transport.MaxFramePayload, "MaxFramePayload"),
        Bytes("transport.compressionThreshold", "4KiB",
            "Frame bodies at least this large are LZ4-compressed when that makes them smaller; 0 turns LZ4 off.",
            (s, v) => s.Gossip.Transport.CompressionThreshold = v, s => s.Gossip.Transport.CompressionThreshold, "CompressionThreshold"),
        Bytes("transport.maxSendQueueBytes", "4MiB", "Bytes queued per connection before further frames are dropped (and counted).",
            (s, v) => s.Gossip.Transport.MaxSendQueueBytes = v, s => s.Gossip.Transport.MaxSendQueueBytes, "MaxSendQueueBytes"),
        Duration("transport.reconnectBackoffInitial", "100ms", "First delay before reconnecting after a failed connect; doubles per failure.",
            (s, v) => s.Gossip.Transport.ReconnectBackoffInitial = v, s => s.Gossip.Transport.ReconnectBackoffInitial, "ReconnectBackoffInitial"),
        Duration("transport.reconnectBackoffMax", "5s", "Cap on the reconnect delay.",
            (s, v) => s.Gossip.Transport.ReconnectBackoffMax = v, s => s.Gossip.Transport.ReconnectBackoffMax, "ReconnectBackoffMax"),
        Duration("transport.idleTimeout", "2m", "A connection that carries no message either way for this long is closed (keepalives, sent on a connection quiet for a third of it, do not count as use).",
            (s, v) => s.Gossip.Transport.IdleTimeout = v, s => s.Gossip.Transport.IdleTimeout, "IdleTimeout"),
        Duration("transport.frameReadTimeout", "10s", "A connection that starts a frame and does not finish it within this time is closed.",
            (s, v) => s.Gossip.Transport.FrameReadTimeout = v, s => s.Gossip.Transport.FrameReadTimeout, "FrameReadTimeout"),
        Int("transport.maxInboundConnections", "1024", 1, int.MaxValue, "Most inbound TCP connections held at once; more are refused.",
            (s, v) => s.Gossip.Transport.MaxInboundConnections = v, s => s.Gossip.Transport.MaxInboundConnections, "MaxInboundConnections"),
        Bytes("transport.udpReceiveBufferBytes", "4MiB", "UDP socket receive buffer.",
            (s, v) => s.Gossip.Transport.UdpReceiveBufferBytes = v, s => s.Gossip.Transport.UdpReceiveBufferBytes, "UdpReceiveBufferBytes"),
        Bytes("transport.udpSendBufferBytes", "1MiB", "UDP socket send buffer.",
            (s, v) => s.Gossip.Transport.UdpSendBufferBytes = v, s => s.Gossip.Transport.UdpSendBufferBytes, "UdpSendBufferBytes"),
        Bool("transport.udpReceiveThread", "true",
            "Receive datagrams on a dedicated blocking thread (fastest); false receives on the thread pool.",
            (s, v) => s.Gossip.Transport.UdpReceiveThread = v, s => s.Gossip.Transport.UdpReceiveThread, optionName: "UdpReceiveThread"),

        Bool("admin.enabled", "true", "Open the local admin port that `status` talks to.",
            (s, v) => s.AdminEnabled = v, s => s.AdminEnabled),
        Endpoint("admin.listenAddress", "127.0.0.1:9443", allowEmpty: false,
            "Where the admin port listens: a loopback address only (127.0.0.0/8 or [::1]); port 0 picks a free port.",
            (s, v) => s.AdminListenAddress = v, s => s.AdminListenAddress, bind: true),

        Choice("log.level", "information", ["trace", "debug", "information", "warning", "error", "critical", "none"],
            "The least severe log level written.",
            (s, v) => s.LogLevel = Enum.Parse<LogLevel>(v, ignoreCase: true), s => s.LogLevel.ToString().ToLowerInvariant()),
        Choice("log.format", "simple", ["simple", "json"], "Console log format: one readable line per event, or one JSON object per line.",
            (s, v) => s.LogFormat = Enum.Parse<LogFormat>(v, ignoreCase: true), s => s.LogFormat.ToString().ToLowerInvariant()),
    ];

    private static readonly Dictionary<string, ConfigKey> ByPath = Keys.ToDictionary(k => k.Path, StringComparer.OrdinalIgnoreCase);

    /// <summary>Finds a key by its dotted path, ignoring case.</summary>
    public static ConfigKey? Find(string path) => ByPath.GetValueOrDefault(path);

    /// <summary>The key an options property's validation error belongs to.</summary>
    public static ConfigKey? FindByOptionName(string optionName) =>
        Keys.FirstOrDefault(k => string.Equals(k.OptionName, optionName, StringComparison.Ordinal));

    /// <summary>True when <paramref name="path"/> is a section that holds keys ("gossip", "gossip.election").</summary>
    public static bool IsSection(string path) =>
        Keys.Any(k => k.Path.StartsWith(path + ".", StringComparison.OrdinalIgnoreCase));

    /// <summary>The closest known key to a misspelt one, when it is close enough to be a likely typo.</summary>
    public static string? Suggest(string path)
    {
        string? best = null;
        int bestDistance = int.MaxValue;
        foreach (var key in Keys)
        {
            int d = Distance(path.ToLowerInvariant(), key.Path.ToLowerInvariant());
            if (d < bestDistance)
            {
                bestDistance = d;
                best = key.Path;
            }
        }

        // Also match a key written without its section ("aliveTimeInterval" for "gossip.aliveTimeInterval").
        string tail = path[(path.LastIndexOf('.') + 1)..];
        var sameName = Keys.FirstOrDefault(k => k.Path.EndsWith("." + tail, StringComparison.OrdinalIgnoreCase));
        if (sameName is not null && bestDistance > 0)
        {
            return sameName.Path;
        }

        return bestDistance <= Math.Max(2, path.Length / 5) ? best : null;
    }

    private static int Distance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (int j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (int i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (int j = 1; j <= b.Length; j++)
            {
                int cost = a[i - 1] == b[j - 1] ? 0 : 1;
                current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static string? Scalar(ConfigValue value, out string text)
    {
        if (value.Scalar is null)
        {
            text = "";
            return "expected a single value, found a list";
        }

        text = value.Scalar;
        return null;
    }

    /// <summary>A file system path; empty allowed (the feature is off).</summary>
    private static ConfigKey PathKey(string path, string description, Action<PeerSettings, string> set, Func<PeerSettings, string> get) =>
        new(path, "path", "", description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                set(s, text.Trim());
                return null;
            },
            get);

    private static ConfigKey Text(string path, string defaultText, string description, Action<PeerSettings, string> set,
        Func<PeerSettings, string> get, string? optionName = null) =>
        new(path, "string", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (string.IsNullOrWhiteSpace(text))
                {
                    return "must not be empty";
                }

                set(s, text.Trim());
                return null;
            },
            get)
        { OptionName = optionName };

    private static ConfigKey Duration(string path, string defaultText, string description, Action<PeerSettings, TimeSpan> set,
        Func<PeerSettings, TimeSpan> get, string? optionName = null, string? notInEffect = null) =>
        new(path, "duration", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (!P.TryParseDuration(text, out var d, out string? error))
                {
                    return error;
                }

                if (d <= TimeSpan.Zero)
                {
                    return $"must be positive, was {text.Trim()}";
                }

                set(s, d);
                return null;
            },
            s => P.FormatDuration(get(s)))
        { OptionName = optionName, NotInEffect = notInEffect };

    private static ConfigKey OptionalDuration(string path, string defaultText, string description, Action<PeerSettings, TimeSpan?> set,
        Func<PeerSettings, TimeSpan?> get, string optionName) =>
        new(path, "duration or empty", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (string.IsNullOrWhiteSpace(text))
                {
                    set(s, null);
                    return null;
                }

                if (!P.TryParseDuration(text, out var d, out string? error))
                {
                    return error;
                }

                if (d <= TimeSpan.Zero)
                {
                    return $"must be positive, was {text.Trim()}";
                }

                set(s, d);
                return null;
            },
            s => get(s) is { } d ? P.FormatDuration(d) : "")
        { OptionName = optionName };

    private static ConfigKey Int(string path, string defaultText, int min, int max, string description, Action<PeerSettings, int> set,
        Func<PeerSettings, int> get, string? optionName = null, string? notInEffect = null) =>
        new(path, "int", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (!P.TryParseInt(text, min, max, out int v, out string? error))
                {
                    return error;
                }

                set(s, v);
                return null;
            },
            s => get(s).ToString(CultureInfo.InvariantCulture))
        { OptionName = optionName, NotInEffect = notInEffect };

    private static ConfigKey Bytes(string path, string defaultText, string description, Action<PeerSettings, int> set,
        Func<PeerSettings, int> get, string optionName, int min = 0, int max = int.MaxValue) =>
        new(path, "bytes", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                // Without a range here the number is only kept an int; TransportOptions.Validate states the real limits.
                if (!P.TryParseBytes(text, min, max, out int v, out string? error))
                {
                    return error;
                }

                set(s, v);
                return null;
            },
            s => FormatBytes(get(s)))
        { OptionName = optionName };

    private static ConfigKey LongBytes(string path, string defaultText, long min, long max, string description, Action<PeerSettings, long> set,
        Func<PeerSettings, long> get, string optionName) =>
        new(path, "bytes", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (!P.TryParseBytes(text, min, max, out long v, out string? error))
                {
                    return error;
                }

                set(s, v);
                return null;
            },
            s => FormatBytes(get(s)))
        { OptionName = optionName };

    private static ConfigKey Bool(string path, string defaultText, string description, Action<PeerSettings, bool> set,
        Func<PeerSettings, bool> get, string? optionName = null, string? notInEffect = null) =>
        new(path, "bool", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (!P.TryParseBool(text, out bool v, out string? error))
                {
                    return error;
                }

                set(s, v);
                return null;
            },
            s => get(s) ? "true" : "false")
        { OptionName = optionName, NotInEffect = notInEffect };

    private static ConfigKey Endpoint(string path, string defaultText, bool allowEmpty, string description,
        Action<PeerSettings, PeerEndpoint> set, Func<PeerSettings, PeerEndpoint> get, string? optionName = null, bool bind = false,
        string? notInEffect = null) =>
        new(path, "endpoint", defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                if (!P.TryParseEndpoint(text, allowEmpty, out var v, out string? error, allowPortZero: bind))
                {
                    return error;
                }

                set(s, v);
                return null;
            },
            s => FormatEndpoint(get(s)))
        { OptionName = optionName, NotInEffect = notInEffect };

    private static ConfigKey EndpointList(string path, string defaultText, string description,
        Action<PeerSettings, List<PeerEndpoint>> set, Func<PeerSettings, IEnumerable<PeerEndpoint>> get, string optionName) =>
        new(path, "endpoint list", defaultText, description,
            (value, s) =>
            {
                var items = value.Items ?? P.SplitList(value.Scalar ?? "");
                var list = new List<PeerEndpoint>(items.Count);
                foreach (string item in items)
                {
                    if (!P.TryParseEndpoint(item, allowEmpty: false, out var endpoint, out string? error))
                    {
                        return error;
                    }

                    list.Add(endpoint);
                }

                set(s, list);
                return null;
            },
            s => string.Join(' ', get(s).Select(FormatEndpoint)))
        { OptionName = optionName };

    private static ConfigKey ChannelList(string path, string description, Action<PeerSettings, List<PeerChannel>> set,
        Func<PeerSettings, IEnumerable<PeerChannel>> get) =>
        new(path, "channel list", "", description,
            (value, s) =>
            {
                var items = value.Items ?? P.SplitList(value.Scalar ?? "");
                var list = new List<PeerChannel>(items.Count);
                for (int i = 0; i < items.Count; i++)
                {
                    if (!PeerChannel.TryParse(items[i], out var channel, out string? error))
                    {
                        return $"item {i + 1} ('{items[i]}'): {error}";
                    }

                    if (list.Any(c => c.Name == channel.Name))
                    {
                        return $"item {i + 1}: channel {channel.Name} is listed twice";
                    }

                    list.Add(channel);
                }

                set(s, list);
                return null;
            },
            s => string.Join(' ', get(s)))
        {
            MappingItem = PeerChannel.FromFields,
        };

    private static ConfigKey Choice(string path, string defaultText, string[] choices, string description,
        Action<PeerSettings, string> set, Func<PeerSettings, string> get) =>
        new(path, "one of " + string.Join(", ", choices), defaultText, description,
            (value, s) =>
            {
                if (Scalar(value, out string text) is { } e)
                {
                    return e;
                }

                string t = text.Trim();
                if (!choices.Contains(t, StringComparer.OrdinalIgnoreCase))
                {
                    return $"'{text}' is not one of {string.Join(", ", choices)}";
                }

                set(s, t);
                return null;
            },
            get);

    internal static string FormatEndpoint(PeerEndpoint endpoint) => endpoint.IsEmpty ? "" : endpoint.ToString();

    internal static string FormatBytes(long bytes) => bytes switch
    {
        0 => "0",
        _ when bytes % (1024 * 1024 * 1024) == 0 => (bytes / (1024 * 1024 * 1024)).ToString(CultureInfo.InvariantCulture) + "GiB",
        _ when bytes % (1024 * 1024) == 0 => (bytes / (1024 * 1024)).ToString(CultureInfo.InvariantCulture) + "MiB",
        _ when bytes % 1024 == 0 => (bytes / 1024).ToString(CultureInfo.InvariantCulture) + "KiB",
        _ => bytes.ToString(CultureInfo.InvariantCulture),
    };
}
