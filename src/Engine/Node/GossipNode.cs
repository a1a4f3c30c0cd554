using System.Net;
using System.Security.Cryptography;
using System.Text;
using Engine.Discovery;
using Engine.Membership;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Node;

/// <summary>
/// One gossip peer: discovery and membership now (alive heartbeats over UDP, bootstrap, membership sync over framed
/// TCP, expiry), dissemination and channels later. Runs over any <see cref="ITransport"/>: real sockets, or the
/// in-memory network with a virtual clock for deterministic tests and simulations.
/// </summary>
public sealed class GossipNode : IAsyncDisposable
{
    private readonly GossipOptions _options;
    private readonly ITransport _transport;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly MessageRouter _router;
    private byte[] _pkiId;
    private PeerEndpoint _endpoint;
    private MembershipTable? _table;
    private DiscoveryService? _discovery;
    private int _state; // 0 created, 1 starting/running, 2 stopped

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
        _random = context.Seed is int seed ? new Random(seed) : new Random();
        _loggerFactory = context.LoggerFactory;
        _logger = _loggerFactory.CreateLogger("Engine.Node");
        _router = new MessageRouter(_time);
        _endpoint = transport.LocalEndpoint;
        _pkiId = options.PkiId is { } explicitId ? [.. explicitId] : _endpoint.IsEmpty ? [] : DerivePkiId(options.OrgId, _endpoint);
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

    /// <summary>The membership table (for the layers above discovery: peer selection).</summary>
    internal MembershipTable? Membership => _table;

    internal DiscoveryService? Discovery => _discovery;

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
            var discovery = new DiscoveryService(Settings(), _transport, _table, _time, _loggerFactory.CreateLogger("Engine.Discovery"));
            discovery.ViewChanged = OnViewChanged;
            _discovery = discovery;
            _router.Attach(discovery);
            discovery.Start();
        }
        catch (Exception e)
        {
            NodeLog.StartFailed(_logger, e, _endpoint);
            Volatile.Write(ref _state, 2);
            _router.Detach();
            _discovery?.Dispose();
            await _transport.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        string id = Convert.ToHexStringLower(_pkiId);
        NodeLog.Started(_logger, id, OrgId, _endpoint);
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
        _discovery?.Dispose();
        await _transport.DisposeAsync().ConfigureAwait(false);
        if (previous == 1)
        {
            NodeLog.Stopped(_logger, _endpoint);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync() => StopAsync();

    /// <summary>How many other peers this node sees alive (cheap: no snapshot; 0 before start).</summary>
    public int AliveCount => _table?.AliveCount ?? 0;

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
        return new NodeStatistics(c.AliveSent, c.AliveReceived, c.AliveForwarded, c.AliveStale, c.MembershipRequestsSent,
            c.MembershipResponsesReceived, c.DatagramsSent, c.DatagramsReceived, c.BytesSent, c.BytesReceived, c.DecodeErrors);
    }

    /// <summary>SHA-256(org ‖ endpoint text), the default PKI-ID.</summary>
    internal static byte[] DerivePkiId(string org, PeerEndpoint endpoint) =>
        SHA256.HashData(Encoding.UTF8.GetBytes(org + endpoint.ToString()));

    private DiscoverySettings Settings() => new()
    {
        OrgId = _options.OrgId,
        PkiId = _pkiId,
        Endpoint = _endpoint,
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
    };

    private static PeerEndpoint Announced(PeerEndpoint local, PeerEndpoint configured)
    {
        var address = local.ToIPAddress();
        bool unspecified = address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);
        return unspecified ? PeerEndpoint.FromAddress(configured.ToIPAddress(), local.Port) : local;
    }

    private void OnViewChanged(Member member, MembershipChange change)
    {
        var handler = MembershipChanged;
        if (handler is null)
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
            handler(new MembershipChangedEvent(Convert.ToHexStringLower(member.PkiId), member.Endpoint, member.Org, state, resurrected));
        }
        catch (Exception e)
        {
            NodeLog.SubscriberFailed(_logger, e, _endpoint);
        }
    }
}
