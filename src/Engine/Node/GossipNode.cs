using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using System.Text;
using Engine.Channels;
using Engine.Discovery;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Member = Engine.Membership.Member;

namespace Engine.Node;

/// <summary>
/// One gossip peer: discovery and membership (alive heartbeats over UDP, bootstrap, membership sync over framed TCP,
/// expiry) and dissemination of application data (<see cref="Publish"/> and <see cref="MessageReceived"/>: push to
/// random peers, pull to repair what push missed, de-duplicated by a bounded message store); and channels
/// (<see cref="JoinChannel"/>: a ledger per channel, StateInfo, leader election per org, blocks from the orderer to the
/// org's leader and by push and pull to the rest of the org, anchor peers as the bridge to other orgs). Runs over
/// any <see cref="ITransport"/>: real sockets, or the in-memory network with a virtual clock for deterministic tests and
/// simulations.
/// </summary>
public sealed class GossipNode : IAsyncDisposable
{
    private readonly GossipOptions _options;
    private readonly ITransport _transport;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly int? _seed;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MessageRouter _router;
    private byte[] _pkiId;
    private PeerEndpoint _endpoint;
    private MembershipTable? _table;
    private DiscoveryService? _discovery;
    private MessageStore? _store;
    private PushEmitter? _emitter;
    private PullEngine? _pull;
    private LazyRepair? _lazy;
    private PullEngine? _identityPull;
    private Security.NodeSecurity? _security;
    private Disseminator? _disseminator;
    private CountingTransport? _gossipTransport;
    private ChannelManager? _channels;

    internal ChannelManager? ChannelManager => _channels;
    private readonly Lock _channelGate = new();
    private string _originHex = "";
    private ulong _incarnation;
    private int _maxDataLength;
    private long _publishSequence;
    private long _published;
    private long _deliveredToApplication;
    private int _state; // 0 created, 1 starting/running, 2 stopped
    private IEnvelopeSigner _signer = UnsignedEnvelopes.Instance;

    /// <summary>Creates a node; nothing runs until <see cref="StartAsync"/>.</summary>
    /// <param name="options">The node's settings, validated now.</param>
    /// <param name="transport">The transport the node starts and owns (disposed by <see cref="StopAsync"/>).</param>
    /// <param name="context">Clock, seed and logging; null for the real ones.</param>
    /// <exception cref="ArgumentException">An option is invalid; the message and parameter name say which.</exception>
    public GossipNode(GossipOptions options, ITransport transport, GossipNodeContext? context = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        options.Validate();
        context ??= new GossipNodeContext();
        _options = options;
        _transport = transport;
        _time = context.Time ?? TimeProvider.System;
        _seed = context.Seed;
        _random = context.Seed is int seed ? new Random(seed) : new Random();
        _loggerFactory = context.LoggerFactory;
        _logger = _loggerFactory.CreateLogger("Engine.Node");
        _router = new MessageRouter(_time);
        _endpoint = transport.LocalEndpoint;
        _pkiId = options.Credential is { } credential ? credential.PkiId.ToArray()
            : options.PkiId is { } explicitId ? [.. explicitId] : _endpoint.IsEmpty ? [] : DerivePkiId(options.OrgId, _endpoint);
    }

    /// <summary>
    /// The node's PKI-ID: <see cref="GossipOptions.PkiId"/> if set, else SHA-256(OrgId ‖ endpoint text). Empty until
    /// start when it is derived from an endpoint the transport only knows once bound (port 0).
    /// </summary>
    public ReadOnlyMemory<byte> PkiId => _pkiId;

    /// <summary>The node's organization (MSP id).</summary>
    public string OrgId => _options.OrgId;

    /// <summary>
    /// The endpoint peers reach this node at: the transport's <see cref="ITransport.LocalEndpoint"/> after start (with the
    /// address of <see cref="GossipOptions.Endpoint"/> when the transport is bound to the any-address).
    /// </summary>
    public PeerEndpoint Endpoint => _endpoint;

    /// <summary>True between a successful <see cref="StartAsync"/> and <see cref="StopAsync"/>.</summary>
    public bool IsRunning => Volatile.Read(ref _state) == 1 && _discovery is { IsRunning: true };

    /// <summary>Raised (on a transport or timer thread) when a peer is learned alive, dies, is purged, or comes back.</summary>
    public event Action<MembershipChangedEvent>? MembershipChanged;

    /// <summary>
    /// What <see cref="MembershipChanged"/> reports, as the member itself and its state after the change, raised just
    /// before it and without building its hex PKI-ID: for observers of thousands of nodes in one process (the load
    /// generator), where that string per change per node is most of their cost. Set before start.
    /// </summary>
    internal Action<Member, MemberState>? ViewObserver { get; set; }

    /// <summary>
    /// Raised once for every application message published by another peer that reaches this node, whichever way it came
    /// (push or pull), on a transport or timer thread. The message is a view valid only during the call: copy what you
    /// keep. A handler that throws is logged; dissemination carries on.
    /// </summary>
    public event MessageReceivedHandler? MessageReceived;

    /// <summary>The longest <c>data</c> <see cref="Publish"/> accepts (0 before start): what a frame and the message store can carry.</summary>
    public int MaxDataLength => _maxDataLength;

    /// <summary>The membership table (for the layers above discovery: peer selection).</summary>
    internal MembershipTable? Membership => _table;

    internal DiscoveryService? Discovery => _discovery;

    internal Disseminator? Disseminator => _disseminator;

    internal PullEngine? Pull => _pull;

    internal PushEmitter? Emitter => _emitter;

    internal LazyRepair? Lazy => _lazy;

    /// <summary>Signing, verification and identities (null when the node runs unsigned). The channel layer signs and verifies through it.</summary>
    internal Security.NodeSecurity? Security => _security;

    internal PullEngine? IdentityPull => _identityPull;

    /// <summary>Starts the transport, heartbeats, expiry and membership sync, and contacts the bootstrap peers.</summary>
    /// <exception cref="InvalidOperationException">The node was already started or stopped.</exception>
    /// <exception cref="ArgumentException">The transport's limits cannot carry this node's alive message.</exception>
    public async ValueTask StartAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The node is already started or stopped; create a new node to start again.");
        }

        try
        {
            _options.Validate();
            await _transport.StartAsync(_router, cancellationToken).ConfigureAwait(false);
            _endpoint = Announced(_transport.LocalEndpoint, _options.Endpoint);
            if (_pkiId.Length == 0)
            {
                _pkiId = DerivePkiId(_options.OrgId, _endpoint);
            }

            _table = new MembershipTable(
                new MembershipOptions
                {
                    MaxMembers = _options.MaxMembers,
                    AliveExpirationTimeout = _options.AliveExpirationTimeout,
                    PurgeAfter = _options.DeadMemberRetention,
                },
                _time,
                _random);
            if (_options.Credential is { } credential)
            {
                _security = new Security.NodeSecurity(credential, _options.TrustStore!, _time, _options.PublishCertPeriod, _options.MaxMembers,
                    _loggerFactory.CreateLogger("Engine.Security"));
            }

            var discovery = new DiscoveryService(Settings(), _transport, _table, _time, _loggerFactory.CreateLogger("Engine.Discovery"));
            discovery.ViewChanged = OnViewChanged;
            _discovery = discovery;
            _router.Attach(discovery);
            StartDissemination(discovery, _table);
            StartIdentityPull(_table);
            discovery.Start();
        }
        catch (Exception e)
        {
            NodeLog.StartFailed(_logger, e, _endpoint);
            Volatile.Write(ref _state, 2);
            _router.Detach();
            _discovery?.Dispose();
            _emitter?.Dispose();
            _lazy?.Dispose();
            _pull?.Dispose();
            _identityPull?.Dispose();
            _security?.Dispose();
            await _transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        string id = Convert.ToHexStringLower(_pkiId);
        NodeLog.Started(_logger, id, OrgId, _endpoint);
    }

    /// <summary>
    /// Publishes application data: it is stored here and spread to every peer (push, pull or both, as
    /// <see cref="GossipOptions.Dissemination"/> says). Thread-safe; the bytes are copied.
    /// </summary>
    /// <param name="data">The application's bytes, at most <see cref="MaxDataLength"/> long (small messages travel in UDP datagrams, larger ones in frames).</param>
    /// <returns>The message's identity: this node's PKI-ID, its incarnation and the message's sequence number.</returns>
    /// <exception cref="InvalidOperationException">The node is not running.</exception>
    /// <exception cref="ArgumentException"><paramref name="data"/> is longer than <see cref="MaxDataLength"/>.</exception>
    public GossipMessageId Publish(ReadOnlySpan<byte> data)
    {
        var disseminator = Volatile.Read(ref _state) == 1 ? _disseminator : null;
        if (disseminator is null)
        {
            throw new InvalidOperationException("The node is not running: start it before publishing.");
        }

        if (data.Length > _maxDataLength)
        {
            throw new ArgumentException($"Cannot publish {data.Length} bytes: at most {_maxDataLength} bytes fit a frame and the message store.", nameof(data));
        }

        ulong sequence = (ulong)Interlocked.Increment(ref _publishSequence);
        var fields = new AppDataFields { PkiId = _pkiId, IncNum = _incarnation, SeqNum = sequence, Data = data };
        int size = AppDataCodec.EnvelopeSize(fields);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            int written = AppDataCodec.Write(buffer, fields);
            var outcome = disseminator.Publish(buffer.AsSpan(0, written));
            if (outcome != ReceiveOutcome.Accepted)
            {
                throw new InvalidOperationException($"The message store refused message {sequence} ({outcome}).");
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        Interlocked.Increment(ref _published);
        NodeLog.Published(_logger, _endpoint, sequence, data.Length);
        return new GossipMessageId(_originHex, _incarnation, sequence);
    }

    /// <summary>Stops timers and heartbeats and disposes the transport. Idempotent.</summary>
    public async ValueTask StopAsync()
    {
        int previous = Interlocked.Exchange(ref _state, 2);
        if (previous == 2)
        {
            return;
        }

        _router.Detach();
        lock (_channelGate)
        {
            _channels?.Dispose();
        }

        _discovery?.Dispose();
        _emitter?.Dispose();
        _lazy?.Dispose();
        _pull?.Dispose();
        _identityPull?.Dispose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _security?.Dispose();
        if (previous == 1)
        {
            NodeLog.Stopped(_logger, _endpoint);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => StopAsync();

    /// <summary>
    /// Raised for every block committed to a channel's ledger here, strictly in sequence per channel (block #0 included),
    /// on a transport or timer thread, under the ledger's lock: handlers must be quick and must not call back into the node.
    /// A handler that throws is logged; the ledger carries on.
    /// </summary>
    public event Action<BlockCommittedEvent>? BlockCommitted;

    /// <summary>
    /// Joins a channel (Fabric's JoinChannel): creates its ledger from <paramref name="genesisBlock"/> and commits it as
    /// block #0 (the ledger logs the anchor peers known for each org, or "no anchor peers configured for Org2 in
    /// mychannel"), publishes this peer's StateInfo, starts block pull, StateInfo pull and the election of this peer's org,
    /// and contacts the anchor peers the block names. Blocks come from <paramref name="orderer"/> while this peer leads
    /// its org, else by push and pull from the org's peers.
    /// </summary>
    /// <param name="genesisBlock">The channel's config block #0 (as the orderer's CreateChannel returns it).</param>
    /// <param name="orderer">The orderer's endpoint (framed TCP), for the delivery stream a leader keeps open.</param>
    /// <returns>The channel id.</returns>
    /// <exception cref="InvalidOperationException">The node is not running, or already joined the channel.</exception>
    /// <exception cref="InvalidDataException">The block is not a valid genesis block (the reason is in the message and the log).</exception>
    public string JoinChannel(ReadOnlySpan<byte> genesisBlock, PeerEndpoint orderer)
    {
        if (!IsRunning || _discovery is not { } discovery || _table is not { } table || _gossipTransport is not { } transport)
        {
            throw new InvalidOperationException("The node is not running: start it before joining a channel.");
        }

        ChannelManager channels;
        lock (_channelGate)
        {
            if (_channels is null)
            {
                int stream = 10;
                var signer = _security is { } security && ReferenceEquals(_signer, UnsignedEnvelopes.Instance) ? new NodeSecuritySigner(security) : _signer;
                _channels = new ChannelManager(_options, transport, table, discovery, _time, () => GossipRandom(Interlocked.Increment(ref stream)),
                    _loggerFactory, e => BlockCommitted?.Invoke(e))
                { Signer = signer };
                if (_security is { } secured)
                {
                    secured.ChannelOrgs = _channels.OrgsOf;
                }

                _router.Attach(_channels);
            }

            channels = _channels;
        }

        return channels.Join(genesisBlock, orderer).Id;
    }

    /// <summary>The channels this node joined.</summary>
    public IReadOnlyList<string> Channels => _channels?.Channels.Select(c => c.Id).ToArray() ?? [];

    /// <summary>A snapshot of <paramref name="channel"/> as this node sees it: height, leadership, membership view (allocates).</summary>
    /// <exception cref="ArgumentException">This node did not join <paramref name="channel"/>.</exception>
    public ChannelView GetChannelView(string channel) => Channel(channel).GetView();

    /// <summary>True while this node leads its org in <paramref name="channel"/> (false for a channel it did not join).</summary>
    public bool IsLeader(string channel) => _channels?.Find(channel) is { } c && c.IsLeader;

    /// <summary>This node's ledger height in <paramref name="channel"/> (0 for a channel it did not join).</summary>
    public ulong GetLedgerHeight(string channel) => _channels?.Find(channel)?.Store.Height ?? 0;

    /// <summary>
    /// Steps aside as leader of this node's org in <paramref name="channel"/> (Fabric's Yield): no proposal from this
    /// node until a new leader declares itself or six leader alive thresholds pass. False when it is not a dynamically elected leader.
    /// </summary>
    public bool YieldLeadership(string channel) => Channel(channel).Yield();

    /// <summary>Block counters of this node in <paramref name="channel"/> (zeros for a channel it did not join).</summary>
    public ChannelBlockStatistics GetBlockStatistics(string channel) =>
        _channels?.Find(channel) is { } c && c.StateTransfer.Counters is var s
            ? new ChannelBlockStatistics(c.Deliveries, c.PullRepairs, s.GapRequests, s.BlocksServed, c.BelowHeight, s.CatchUpRequests, s.BlocksReceived,
                s.ResponsesRefused + s.RequestsRefused)
            : new ChannelBlockStatistics(0, 0, 0, 0, 0, 0, 0, 0);

    /// <summary>
    /// The seam that signs this node's StateInfo and leadership messages and verifies received ones (unsigned until the
    /// security layer sets one). Set before joining a channel.
    /// </summary>
    internal IEnvelopeSigner EnvelopeSigner
    {
        get => _signer;
        set
        {
            _signer = value ?? throw new ArgumentNullException(nameof(value));
            if (_channels is { } channels)
            {
                channels.Signer = value;
            }
        }
    }

    internal ChannelManager? ChannelLayer => _channels;

    private GossipChannel Channel(string channel) =>
        _channels?.Find(channel) ?? throw new ArgumentException($"This node has not joined channel '{channel}'.", nameof(channel));

    /// <summary>How many other peers this node sees alive (cheap: no snapshot; 0 before start).</summary>
    public int AliveCount => _table?.AliveCount ?? 0;

    /// <summary>
    /// How many other peers this node holds as suspected (Swim mode: not answering probes, dead unless they refute; still
    /// members, still probed). Always 0 in Fabric mode. Cheap: no snapshot; 0 before start.
    /// </summary>
    public int SuspectCount => _table?.SuspectCount ?? 0;

    /// <summary>How many peers this node holds as dead, not yet purged (cheap: no snapshot; 0 before start).</summary>
    public int DeadCount => _table?.DeadCount ?? 0;

    /// <summary>A snapshot of the membership (allocates; not for hot paths). Empty before start.</summary>
    public MembershipView GetMembership()
    {
        List<PeerSummary> alive = [], dead = [];
        if (_table is { } table)
        {
            foreach (var member in table)
            {
                var state = member.GetState(out var time);
                if (state == MemberState.Purged)
                {
                    continue;
                }

                var summary = new PeerSummary(Convert.ToHexStringLower(member.PkiId), member.Endpoint, member.Org, time, state);
                (state == MemberState.Dead ? dead : alive).Add(summary);
            }
        }

        alive.Sort(static (a, b) => a.Endpoint.CompareTo(b.Endpoint));
        dead.Sort(static (a, b) => a.Endpoint.CompareTo(b.Endpoint));
        return new MembershipView(alive, dead);
    }

    /// <summary>The node's counters (zero before start).</summary>
    public NodeStatistics GetStatistics()
    {
        var c = _discovery?.Counters ?? new DiscoveryCounters();
        var d = _disseminator?.GetStatistics();
        var push = _emitter?.GetStatistics();
        var pull = _pull?.GetStatistics();
        var lazy = _lazy?.GetStatistics();
        long published = Interlocked.Read(ref _published);
        long gossipDatagrams = _gossipTransport?.DatagramsSent ?? 0, gossipBytes = _gossipTransport?.BytesSent ?? 0;
        return new NodeStatistics(c.AliveSent, c.AliveReceived, c.AliveForwarded, c.AliveStale, c.MembershipRequestsSent,
            c.MembershipResponsesReceived, c.DatagramsSent + gossipDatagrams, c.DatagramsReceived, c.BytesSent + gossipBytes, c.BytesReceived, c.DecodeErrors)
        {
            MessagesPublished = published,
            MessagesDelivered = Interlocked.Read(ref _deliveredToApplication),
            MessagesReceived = (d?.Received ?? 0) + (pull?.ItemsReceived ?? 0),
            DuplicateMessages = d?.Duplicates ?? 0,
            RejectedMessages = d?.Rejected ?? 0,
            MessagesPulled = d?.Pulled ?? 0,
            PushCopiesSent = push?.Copies ?? 0,
            PullRounds = pull?.Rounds ?? 0,
            PullDropped = pull is null ? 0 : pull.UnknownNonce + pull.MismatchedSender + pull.Unexpected + pull.Unrequested + pull.BadItems + pull.HellosRefused,
            StoredMessages = _store?.Count ?? 0,
            LazyAnnounced = push?.Announced ?? 0,
            LazyWanted = lazy?.Wanted ?? 0,
            LazyServed = lazy?.Served ?? 0,
            SignaturesVerified = _security is { } signed ? Interlocked.Read(ref signed.Verifier.Counters.Verified) : 0,
            UnknownIdentity = _security is { } known ? Interlocked.Read(ref known.Verifier.Counters.UnknownIdentity) : 0,
            SignedMessagesRefused = _security is { } refusing
                ? refusing.Verifier.Counters.Refused - Interlocked.Read(ref refusing.Verifier.Counters.UnknownIdentity)
                  + Volatile.Read(ref refusing.Counters.NotMember) + Volatile.Read(ref refusing.Counters.OrgMismatch) + Volatile.Read(ref refusing.Counters.ForeignBootstrap)
                : 0,
        };
    }

    /// <summary>SHA-256(org ‖ endpoint text), the default PKI-ID.</summary>
    internal static byte[] DerivePkiId(string org, PeerEndpoint endpoint) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(org + endpoint.ToString()));

    private DiscoverySettings Settings() => new()
    {
        OrgId = _options.OrgId,
        PkiId = _pkiId,
        Security = _security,
        Endpoint = _endpoint,
        ExternalEndpoint = _options.ExternalEndpoint,
        AnyOrg = _options.CrossOrgMembership == CrossOrgMembership.AnyOrg,
        BootstrapPeers = [.. _options.BootstrapPeers],
        AliveInterval = _options.AliveTimeInterval,
        AliveExpirationTimeout = _options.AliveExpirationTimeout,
        ExpirationCheckInterval = _options.AliveExpirationCheckInterval,
        ReconnectInterval = _options.ReconnectInterval,
        BootstrapRetryInterval = _options.EffectiveBootstrapRetryInterval,
        MaxConnectionAttempts = _options.MaxConnectionAttempts,
        SyncInterval = _options.PullInterval,
        SyncPeerNum = _options.PullPeerNum,
        PropagatePeerNum = _options.PropagatePeerNum,
        MaxPropagationBurstSize = _options.MaxPropagationBurstSize,
        MaxPropagationBurstLatency = _options.MaxPropagationBurstLatency,
        Swim = _options.HeartbeatMode == HeartbeatMode.Swim
            ? new SwimSettings
            {
                ProbeInterval = _options.Swim.ProbeInterval,
                ProbeTimeout = _options.Swim.ProbeTimeout,
                IndirectProbes = _options.Swim.IndirectProbes,
                SuspicionMultiplier = _options.Swim.SuspicionMultiplier,
                RetransmitMultiplier = _options.Swim.RetransmitMultiplier,
                MaxPiggyback = _options.Swim.MaxPiggyback,
            }
            : null,
    };

    /// <summary>Builds the store, the push emitter, the disseminator and the pull engine of application data, and starts their timers.</summary>
    private void StartDissemination(DiscoveryService discovery, MembershipTable table)
    {
        var logger = _loggerFactory.CreateLogger("Engine.Gossip");
        var mode = _options.Dissemination;
        _incarnation = discovery.Incarnation;
        _originHex = Convert.ToHexStringLower(_pkiId);
        _store = new MessageStore(
            new MessageStoreOptions
            {
                MaxEntries = _options.MaxStoredMessages,
                MaxBytes = _options.MaxStoredBytes,
                TimeToLive = _options.DeadMemberRetention,
            },
            _time,
            GossipRandom(1));
        var transport = _gossipTransport = new CountingTransport(_transport);
        _emitter = mode == DisseminationMode.PullOnly ? null : new PushEmitter(PushOptions.From(_options), transport, table, _time, logger);
        if (_emitter is not null)
        {
            var lazyOptions = new LazyRepairOptions { Grace = _options.LazyPushGrace };
            _lazy = new LazyRepair(lazyOptions, _store, transport, _time, GossipRandom(3), logger);
        }

        _disseminator = new Disseminator(_store, _emitter, _endpoint, _time, delivered: OnDelivered, logger: logger);
        if (mode != DisseminationMode.PushOnly)
        {
            var source = new StorePullSource(_disseminator, MessageKind.AppData, PullMsgType.AppDataMsg, default, GossipMessage.Types.Tag.Empty);
            _pull = new PullEngine(PullOptions.From(_options), source, transport, table, default(GossipRoute), _time, GossipRandom(2), logger);
        }

        // The longest data whose envelope fits a frame (with room for a pull update around it) and one stripe of the store.
        int digestLength = MessageId.DigestHeaderLength + _pkiId.Length;
        long envelopeLimit = Math.Min(_options.Transport.MaxFramePayload - 1024L, _store.MaxEnvelopeLength(digestLength));
        int overhead = AppDataCodec.EnvelopeSize(new AppDataFields { PkiId = _pkiId, IncNum = ulong.MaxValue, SeqNum = ulong.MaxValue }) + 16;
        _maxDataLength = (int)Math.Max(0, envelopeLimit - overhead);

        _router.Attach(_disseminator, _pull, _lazy);
        _emitter?.Start();
        _lazy?.Start();
        _pull?.Start();
        NodeLog.DisseminationStarted(_logger, _endpoint, mode, _options.PropagatePeerNum, _options.PropagateIterations,
            _emitter is null ? 0 : _options.LazyPushPeerNum, _options.PullInterval,
            _options.PullPeerNum, _store.MaxEntries, _store.MaxBytes, _maxDataLength);
    }

    /// <summary>Signed nodes learn identities they missed (after publishCertPeriod) by identity pull, as Fabric's certStore does.</summary>
    private void StartIdentityPull(MembershipTable table)
    {
        if (_security is null)
        {
            return;
        }

        var logger = _loggerFactory.CreateLogger("Engine.Security");
        _identityPull = new PullEngine(PullOptions.From(_options), new Security.IdentityPullSource(_security, logger), _gossipTransport ?? _transport,
            table, default(GossipRoute), _time, GossipRandom(3), logger);
        _router.AttachIdentityPull(_identityPull);
        _router.AttachSecurity(_security);
        _identityPull.Start();
    }

    /// <summary>A random source of its own for a dissemination component (seeded from the node's seed, leaving discovery's sequence untouched).</summary>
    private Random GossipRandom(int stream) => _seed is int seed ? new Random(unchecked((seed * -1640531535) + (stream * 0x6055))) : new Random();

    private void OnDelivered(in MessageId id, ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        if (id.Kind != MessageKind.AppData || source.IsEmpty)
        {
            return; // published here, or not application data
        }

        Interlocked.Increment(ref _deliveredToApplication);
        var handler = MessageReceived;
        if (handler is null || !EnvelopeView.TryParse(envelope, out var view) || !AppDataCodec.TryParse(view.Content, out var data))
        {
            return;
        }

        try
        {
            handler(new ReceivedMessage(data.PkiId, data.IncNum, data.SeqNum, data.Data, source));
        }
        catch (Exception e)
        {
            NodeLog.MessageSubscriberFailed(_logger, e, _endpoint, source);
        }
    }

    private static PeerEndpoint Announced(PeerEndpoint local, PeerEndpoint configured)
    {
        var address = local.ToIPAddress();
        bool unspecified = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
        return unspecified ? PeerEndpoint.FromAddress(configured.ToIPAddress(), local.Port) : local;
    }

    private void OnViewChanged(Member member, MembershipChange change)
    {
        var handler = MembershipChanged;
        var observer = ViewObserver;
        if (handler is null && observer is null)
        {
            return;
        }

        var (state, resurrected) = change switch
        {
            MembershipChange.Added => (member.State, false),
            MembershipChange.Resurrected => (MemberState.Alive, true),
            MembershipChange.Died => (MemberState.Dead, false),
            MembershipChange.Purged => (MemberState.Purged, false),
            _ => (MemberState.Purged, false),
        };
        if (change is not (MembershipChange.Added or MembershipChange.Resurrected or MembershipChange.Died or MembershipChange.Purged))
        {
            return;
        }

        try
        {
            observer?.Invoke(member, state);
            handler?.Invoke(new MembershipChangedEvent(Convert.ToHexStringLower(member.PkiId), member.Endpoint, member.Org, state, resurrected));
        }
        catch (Exception e)
        {
            NodeLog.SubscriberFailed(_logger, e, _endpoint);
        }
    }
}
