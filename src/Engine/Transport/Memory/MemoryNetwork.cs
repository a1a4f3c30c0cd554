using System.Buffers;
using Engine.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Transport.Memory;

/// <summary>
/// An in-process network of <see cref="MemoryTransport"/> nodes for tests and large simulations (10,000+ nodes, millions of
/// messages). A seeded <see cref="NetworkPolicy"/> decides per datagram whether it is lost, duplicated and how late it is;
/// frames are delayed but reliable and ordered per (sender, receiver). Partitions and isolated nodes block both.
/// Deliveries are events on the network's <see cref="TimeProvider"/>: with a <see cref="VirtualTimeProvider"/> they run when
/// the test advances time, on its thread, and the whole run is reproducible for a seed. Bodies are copied into pooled
/// buffers until delivered. The registry, the policy's random source and the partitions share one lock; handlers are
/// called outside it.
/// </summary>
internal sealed partial class MemoryNetwork
{
    /// <summary>Port given to automatically addressed nodes (10.0.0.1:7051, 10.0.0.2:7051, ...). Never bound to a socket.</summary>
    public const ushort AutoPort = 7051;

    private const uint AutoAddressBase = 0x0A00_0000; // 10.0.0.0

    /// <summary>Bodies up to this size use the network's own pool; larger frames use the shared one.</summary>
    private const int PooledBodyMax = 64 * 1024;

    /// <summary>Bodies up to this size (datagrams, small frames) come from the deep pool; larger ones from the shallow one.</summary>
    private const int SmallBodyMax = 4 * 1024;

    /// <summary>
    /// Small buffers kept per size class. A large simulation has tens of thousands of datagrams in flight at once, more
    /// than <see cref="ArrayPool{T}.Shared"/> keeps, which would make every send allocate (at most ~128 MB kept).
    /// </summary>
    private const int PooledSmallBuffersPerSize = 16 * 1024;

    /// <summary>
    /// Large buffers (membership responses, blocks) kept per size class: a pool keeps what a burst returned for the
    /// rest of the run, and 16 K buffers of 8-64 KB per class held ~400 MB after the mass start of 2,000 peers (at
    /// most ~60 MB kept here; a burst beyond it allocates).
    /// </summary>
    private const int PooledLargeBuffersPerSize = 512;

    private static readonly TimerCallback RealTimeCallback = static state => ((RealTimeEvent)state!).Fire();

    private readonly Lock _gate = new();
    private readonly Dictionary<PeerEndpoint, MemoryTransport> _nodes = [];
    private readonly TimeProvider _time;
    private readonly VirtualTimeProvider? _virtualTime;
    private readonly Random _random;
    private readonly TransportOptions _defaultOptions;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _handlerLogLimiter;
    private readonly MemoryTrafficCounters _totals = new();
    private readonly ArrayPool<byte> _smallBodies = ArrayPool<byte>.Create(SmallBodyMax, PooledSmallBuffersPerSize);
    private readonly ArrayPool<byte> _largeBodies = ArrayPool<byte>.Create(PooledBodyMax, PooledLargeBuffersPerSize);
    private uint _nextAutoAddress = 1;

    public MemoryNetwork(NetworkPolicy? policy = null, TimeProvider? timeProvider = null, ILogger? logger = null, TransportOptions? defaultOptions = null)
    {
        Policy = policy ?? NetworkPolicy.Perfect();
        Policy.Validate();
        _defaultOptions = defaultOptions ?? new TransportOptions();
        _defaultOptions.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _virtualTime = _time as VirtualTimeProvider;
        _random = new Random(Policy.Seed);
        _logger = logger ?? NullLogger.Instance;
        _handlerLogLimiter = new LogRateLimiter(_time, TimeSpan.FromSeconds(1));
    }

    /// <summary>The policy in force (its values may be changed between sends; the seed is fixed at creation).</summary>
    public NetworkPolicy Policy { get; }

    /// <summary>The clock deliveries are scheduled on.</summary>
    public TimeProvider TimeProvider => _time;

    /// <summary>Nodes currently registered.</summary>
    public int NodeCount
    {
        get
        {
            lock (_gate)
            {
                return _nodes.Count;
            }
        }
    }

    /// <summary>Traffic of the whole network.</summary>
    public MemoryTrafficStats Stats => _totals.Snapshot();

    /// <summary>Creates a node at <paramref name="endpoint"/>, which must be free. It receives nothing until started.</summary>
    public MemoryTransport CreateTransport(PeerEndpoint endpoint, TransportOptions? options = null)
    {
        var resolved = options ?? _defaultOptions;
        resolved.Validate();
        lock (_gate)
        {
            if (_nodes.ContainsKey(endpoint))
            {
                throw new InvalidOperationException($"An in-memory node already listens on {endpoint}.");
            }

            return AddLocked(endpoint, resolved);
        }
    }

    /// <summary>Creates a node at the next free automatic endpoint (10.0.0.1:7051, 10.0.0.2:7051, ...).</summary>
    public MemoryTransport CreateTransport(TransportOptions? options = null)
    {
        var resolved = options ?? _defaultOptions;
        resolved.Validate();
        lock (_gate)
        {
            PeerEndpoint endpoint;
            do
            {
                endpoint = PeerEndpoint.FromIPv4(AutoAddressBase + _nextAutoAddress++, AutoPort);
            }
            while (_nodes.ContainsKey(endpoint));

            return AddLocked(endpoint, resolved);
        }
    }

    private MemoryTransport AddLocked(PeerEndpoint endpoint, TransportOptions options)
    {
        var node = new MemoryTransport(this, endpoint, options, _virtualTime?.CurrentOwner ?? 0);
        AssignPartitionSidesLocked(node);
        _nodes.Add(endpoint, node);
        MemoryLog.NodeAdded(_logger, endpoint, _nodes.Count);
        return node;
    }

    /// <summary>The node registered at <paramref name="endpoint"/>, if any.</summary>
    public bool TryGetTransport(PeerEndpoint endpoint, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out MemoryTransport? transport)
    {
        lock (_gate)
        {
            return _nodes.TryGetValue(endpoint, out transport);
        }
    }

    /// <summary>Unregisters a disposed node: what is in flight to it is dropped, and so are its own in-flight frames.</summary>
    internal void Remove(MemoryTransport node)
    {
        lock (_gate)
        {
            if (_nodes.TryGetValue(node.LocalEndpoint, out var registered) && ReferenceEquals(registered, node))
            {
                _nodes.Remove(node.LocalEndpoint);
            }

            foreach (var channel in node.Channels.Values)
            {
                channel.Epoch++;
                channel.Broken = true;
            }

            MemoryLog.NodeRemoved(_logger, node.LocalEndpoint, _nodes.Count);
        }
    }

    /// <summary>Picks the one-way delay of a message <paramref name="from"/> sends: the fixed delay plus uniform jitter. Caller holds the lock.</summary>
    private long NextDelayTicksLocked(MemoryTransport from)
    {
        long delay = Policy.Delay.Ticks;
        long jitter = Policy.Jitter.Ticks;
        return jitter > 0 ? delay + RandomOf(from).NextInt64(jitter + 1) : delay;
    }

    /// <summary>
    /// The random source of <paramref name="from"/>'s sends: the network's own, or, when the clock runs owners in
    /// parallel windows, the sender's (seeded from the policy's seed and the sender's owner), so the draws of each
    /// sender come in its own events' order whatever thread runs them.
    /// </summary>
    private Random RandomOf(MemoryTransport from) =>
        _virtualTime is { IsParallel: true } ? from.Random ??= new Random(unchecked((Policy.Seed * 1_000_003) + from.Owner)) : _random;

    /// <summary>Runs <paramref name="callback"/> after <paramref name="delayTicks"/> on the network's clock, as an event of <paramref name="owner"/>'s (the node it concerns).</summary>
    private void Schedule(long delayTicks, Action<object?> callback, object state, MemoryTransport owner)
    {
        var delay = TimeSpan.FromTicks(delayTicks);
        if (_virtualTime is not null)
        {
            _virtualTime.Schedule(delay, callback, state, owner.Owner);
            return;
        }

        // Any other clock: one disarmed timer per event, armed once the event holds it so it can dispose it when it fires.
        var realTimeEvent = new RealTimeEvent(callback, state);
        var timer = _time.CreateTimer(RealTimeCallback, realTimeEvent, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        realTimeEvent.Timer = timer;
        timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private byte[] RentBody(ReadOnlySpan<byte> payload)
    {
        int length = Math.Max(payload.Length, 1);
        var buffer = PoolFor(length).Rent(length);
        payload.CopyTo(buffer);
        return buffer;
    }

    // A pool rents arrays of a size class at least as long as asked and within its maximum, so an array's length finds
    // the pool it came from.
    private void ReturnBody(byte[] buffer) => PoolFor(buffer.Length).Return(buffer);

    private ArrayPool<byte> PoolFor(int length) =>
        length <= SmallBodyMax ? _smallBodies : length <= PooledBodyMax ? _largeBodies : ArrayPool<byte>.Shared;

    private void OnHandlerError(MemoryTransport node, Exception exception, string kind, PeerEndpoint source)
    {
        node.Counters.HandlerError();
        _totals.HandlerError();
        if (_handlerLogLimiter.TryAcquire(out long suppressed))
        {
            MemoryLog.HandlerFailed(_logger, exception, node.LocalEndpoint, kind, source, suppressed);
        }
    }

    private sealed class RealTimeEvent(Action<object?> callback, object state)
    {
        public ITimer? Timer { get; set; }

        public void Fire()
        {
            Timer?.Dispose();
            callback(state);
        }
    }
}
