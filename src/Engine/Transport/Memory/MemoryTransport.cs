namespace Engine.Transport.Memory;

/// <summary>
/// A node of a <see cref="MemoryNetwork"/>: the same <see cref="ITransport"/> contract as the socket transport (size limits,
/// statuses, copy-before-return), with no sockets. Created by <see cref="MemoryNetwork.CreateTransport(PeerEndpoint, TransportOptions?)"/>.
/// </summary>
internal sealed class MemoryTransport : ITransport
{
    private readonly TransportOptions _options;
    private volatile ITransportHandler? _handler;
    private int _disposed;

    internal MemoryTransport(MemoryNetwork network, PeerEndpoint endpoint, TransportOptions options, int owner)
    {
        Network = network;
        LocalEndpoint = endpoint;
        _options = options;
        Owner = owner;
    }

    public PeerEndpoint LocalEndpoint { get; }

    public int MaxDatagramPayload => _options.MaxDatagramPayload;

    public int MaxFramePayload => _options.MaxFramePayload;

    /// <summary>This node's traffic: what it sent (and lost), and what was delivered to it.</summary>
    public MemoryTrafficStats Stats => Counters.Snapshot();

    internal MemoryNetwork Network { get; }

    internal MemoryTrafficCounters Counters { get; } = new();

    /// <summary>The clock's owner of this node's events (<see cref="VirtualTimeProvider.EnterOwner"/>; 0: shared): deliveries to it run as its events.</summary>
    internal int Owner { get; }

    /// <summary>This node's own random source for what happens to its sends, when the clock runs owners in parallel (guarded by the network's lock).</summary>
    internal Random? Random { get; set; }

    /// <summary>Set once started; null before and after disposal.</summary>
    internal ITransportHandler? Handler => _handler;

    internal bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    // The fields below are guarded by the network's lock.
    internal Dictionary<PeerEndpoint, StreamChannel> Channels { get; } = [];

    internal ulong PartitionSideA { get; set; }

    internal ulong PartitionSideB { get; set; }

    internal bool Isolated { get; set; }

    public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(IsDisposed, this);
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.CompareExchange(ref _handler, handler, null) is not null)
        {
            throw new InvalidOperationException($"The in-memory transport {LocalEndpoint} is already started.");
        }

        return ValueTask.CompletedTask;
    }

    public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        if (_handler is null)
        {
            return SendStatus.Closed;
        }

        if (payload.Length > _options.MaxDatagramPayload)
        {
            return SendStatus.TooLarge;
        }

        if (payload.IsEmpty)
        {
            ThrowEmptyDatagram();
        }

        Network.SendDatagram(this, destination, payload);
        return SendStatus.Sent;
    }

    public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload)
    {
        if (_handler is null)
        {
            return SendStatus.Closed;
        }

        if (payload.Length > _options.MaxFramePayload)
        {
            return SendStatus.TooLarge;
        }

        return Network.SendFrame(this, destination, payload);
    }

    /// <summary>Leaves the network: nothing more is delivered to this node, and its frames still in flight are dropped.</summary>
    public ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _handler = null;
            Network.Remove(this);
        }

        return ValueTask.CompletedTask;
    }

    private static void ThrowEmptyDatagram() =>
        throw new ArgumentException("A datagram body must not be empty (receivers drop header-only datagrams).", "payload");
}
