using System.Collections.Concurrent;
using Engine.Diagnostics;
using Engine.Transport.Compression;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Transport.Tcp;

/// <summary>
/// The stream half of the socket transport: a listener plus one reusable framed TCP connection per peer, keyed by the
/// peer's listening endpoint. Sends never block (they queue on the peer's connection or fail with a status); received
/// frames go to the <see cref="ITransportHandler"/>. One timer sweeps every connection for idleness, keepalives and
/// unfinished frames. This file holds the lifecycle, delivery and counters; .Outbound.cs sending and connecting,
/// .Inbound.cs accepting and the handshake, .Sweep.cs the timer.
/// </summary>
internal sealed partial class TcpConnectionManager : IAsyncDisposable
{
    private const int NotStarted = 0;
    private const int Running = 1;
    private const int Disposed = 2;

    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(10);

    private readonly ILogger _logger;
    private readonly TcpCounters _counters = new();
    private readonly ConcurrentDictionary<PeerEndpoint, TcpConnection> _connections = new();
    private readonly ConcurrentDictionary<long, TcpConnection> _all = new();
    private readonly LogRateLimiter _malformedLog;

    private ITransportHandler? _handler;
    private byte[] _handshake = [];
    private int _state;

    /// <summary>Creates a manager; nothing is bound until <see cref="StartAsync(ITransportHandler, CancellationToken)"/>.</summary>
    public TcpConnectionManager(TransportOptions options, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        Time = time ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _malformedLog = new LogRateLimiter(Time, LogInterval);
        _connectFailedLog = new LogRateLimiter(Time, LogInterval);
        _refusedLog = new LogRateLimiter(Time, LogInterval);
        _tlsLog = new LogRateLimiter(Time, LogInterval);
    }

    private readonly LogRateLimiter _tlsLog;

    /// <summary>TLS or the PKI-ID binding refused a connection: counted and logged with the remote address and the reason.</summary>
    internal void OnUnauthenticated(TcpConnection connection, string reason)
    {
        Interlocked.Increment(ref _counters.ConnectionsUnauthenticated);
        if (!connection.IsInbound)
        {
            // A peer whose TLS we refuse (or that refuses ours) is retried with the unreachable peers' backoff, not on every send.
            _backoff.GetOrAdd(connection.Peer, static _ => new ReconnectBackoff())
                .Fail(Time.GetTimestamp(), Time, Options.ReconnectBackoffInitial, Options.ReconnectBackoffMax);
        }

        TransportMetrics.ConnectionsRefused.Add(1, TransportMetrics.Reason("unauthenticated"));
        if (_tlsLog.TryAcquire(out long suppressed))
        {
            TcpLog.TlsRefused(_logger, connection.Direction, connection.RemoteAddress, reason, suppressed);
        }
    }

    public TransportOptions Options { get; }

    public TimeProvider Time { get; }

    /// <summary>The pipe segments of every connection of this manager.</summary>
    internal BlockMemoryPool BlockPool { get; } = new();

    /// <summary>The endpoint peers connect to and that this manager names in its handshakes (valid once started).</summary>
    public PeerEndpoint LocalEndpoint { get; private set; }

    public int MaxFramePayload => Options.MaxFramePayload;

    /// <summary>Binds <see cref="TransportOptions.ListenEndpoint"/> and starts accepting and sweeping.</summary>
    public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) =>
        StartAsync(handler, Options.ListenEndpoint, cancellationToken);

    /// <summary>Binds <paramref name="listenEndpoint"/> (port 0 picks one) and starts accepting and sweeping.</summary>
    public ValueTask StartAsync(ITransportHandler handler, PeerEndpoint listenEndpoint, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        cancellationToken.ThrowIfCancellationRequested();
        Lz4Codec.EnsureAvailable();
        if (Interlocked.CompareExchange(ref _state, Running, NotStarted) != NotStarted)
        {
            throw new InvalidOperationException("The connection manager was already started.");
        }

        _handler = handler;
        try
        {
            _listener = StreamListener.Start(listenEndpoint, _onAccepted ??= OnAccepted, _logger, Time);
        }
        catch
        {
            // Nothing was started: the caller may try another endpoint (SocketTransport does, for a free port pair).
            _handler = null;
            Volatile.Write(ref _state, NotStarted);
            throw;
        }

        LocalEndpoint = _listener.LocalEndpoint;
        _handshake = Handshake.Create(LocalEndpoint, Options.Security);
        StartSweep();
        TcpLog.Listening(_logger, LocalEndpoint);
        return ValueTask.CompletedTask;
    }

    /// <summary>A snapshot of this manager's counters.</summary>
    public TcpStats GetStats() => new()
    {
        ActiveConnections = _all.Count,
        InboundConnections = Volatile.Read(ref _inbound),
        RegisteredPeers = _connections.Count,
        FramesSent = Volatile.Read(ref _counters.FramesSent),
        FramesReceived = Volatile.Read(ref _counters.FramesReceived),
        FramesCompressed = Volatile.Read(ref _counters.FramesCompressed),
        FramesDroppedQueueFull = Volatile.Read(ref _counters.FramesDroppedQueueFull),
        FramesDroppedConnectionLost = Volatile.Read(ref _counters.FramesDroppedConnectionLost),
        FramesDroppedTooLarge = Volatile.Read(ref _counters.FramesDroppedTooLarge),
        FramesDroppedUnreachable = Volatile.Read(ref _counters.FramesDroppedUnreachable),
        BytesSent = Volatile.Read(ref _counters.BytesSent),
        BytesReceived = Volatile.Read(ref _counters.BytesReceived),
        KeepalivesReceived = Volatile.Read(ref _counters.KeepalivesReceived),
        MalformedFrames = Volatile.Read(ref _counters.MalformedFrames),
        ConnectionsOpened = Volatile.Read(ref _counters.ConnectionsOpened),
        ConnectionsClosed = Volatile.Read(ref _counters.ConnectionsClosed),
        ConnectionsRefused = Volatile.Read(ref _counters.ConnectionsRefused),
        ConnectionsUnauthenticated = Volatile.Read(ref _counters.ConnectionsUnauthenticated),
        ConnectFailures = Volatile.Read(ref _counters.ConnectFailures),
        ConnectionsRetired = Volatile.Read(ref _counters.ConnectionsRetired),
    };

    /// <summary>The connection used for sending to <paramref name="peer"/>, if there is one.</summary>
    internal bool TryGetConnection(PeerEndpoint peer, [System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out TcpConnection connection) =>
        _connections.TryGetValue(peer, out connection);

    /// <summary>Stops the listener, closes every connection and waits until all their loops have ended.</summary>
    public async ValueTask DisposeAsync()
    {
        int previous = Interlocked.Exchange(ref _state, Disposed);
        if (previous == Disposed)
        {
            return;
        }

        StopSweep();
        if (_listener is not null)
        {
            await _listener.DisposeAsync().ConfigureAwait(false);
        }

        // Connections created by a send racing with this are closed by the send itself (it sees the state).
        var closing = new List<TcpConnection>(_all.Values);
        foreach (var connection in closing)
        {
            connection.Close(CloseCause.Disposed);
        }

        foreach (var connection in closing)
        {
            await connection.Completion.ConfigureAwait(false);
        }

        BlockPool.Dispose();
    }

    private bool IsRunning => Volatile.Read(ref _state) == Running;

    private void Track(TcpConnection connection) => _all[connection.Id] = connection;

    /// <summary>A connection is closing: unregister it, count what it dropped, log. Returns whether its loss is reported.</summary>
    internal bool OnClosing(TcpConnection connection, CloseCause cause, string reason, int droppedFrames)
    {
        bool wasRegistered = !connection.Peer.IsEmpty && _connections.TryRemove(KeyValuePair.Create(connection.Peer, connection));
        Interlocked.Increment(ref _counters.ConnectionsClosed);
        TransportMetrics.ConnectionsClosed.Add(1, TransportMetrics.Reason(CloseCauses.Tag(cause)));
        if (droppedFrames > 0)
        {
            Interlocked.Add(ref _counters.FramesDroppedConnectionLost, droppedFrames);
            TransportMetrics.FramesDropped.Add(droppedFrames, TransportMetrics.Reason("connection_lost"));
        }

        // Connect failures and malformed frames have their own (rate-limited) lines; a retired duplicate is routine.
        var level = cause switch
        {
            CloseCause.ConnectFailed or CloseCause.MalformedFrame or CloseCause.Retired or CloseCause.Disposed => LogLevel.Debug,
            _ => LogLevel.Information,
        };
        TcpLog.ConnectionClosed(_logger, level, connection.Direction, connection.Peer, connection.RemoteAddress, reason, droppedFrames);
        return (wasRegistered || droppedFrames > 0) && !connection.Peer.IsEmpty && IsRunning;
    }

    /// <summary>A connection's loops have all ended: forget it and report the loss to the handler.</summary>
    internal void OnEnded(TcpConnection connection)
    {
        _all.TryRemove(connection.Id, out _);
        if (connection.IsInbound)
        {
            Interlocked.Decrement(ref _inbound);
        }

        if (connection.ReportLoss && IsRunning)
        {
            try
            {
                _handler!.OnConnectionLost(connection.Peer, connection.CloseReason ?? "closed");
            }
            catch (Exception e)
            {
                TcpLog.HandlerFailed(_logger, connection.Peer, e);
            }
        }
    }

    internal void Deliver(TcpConnection connection, in ReceivedFrame frame)
    {
        Interlocked.Increment(ref _counters.FramesReceived);
        TransportMetrics.FramesReceived.Add(1);
        try
        {
            _handler!.OnFrame(connection.Peer, frame.Payload);
        }
        catch (Exception e)
        {
            // A bug above the transport is not the peer's fault: log it and keep the connection.
            TcpLog.HandlerFailed(_logger, connection.Peer, e);
        }
    }

    internal void OnMalformedFrame(TcpConnection connection, string problem)
    {
        Interlocked.Increment(ref _counters.MalformedFrames);
        TransportMetrics.FramesDropped.Add(1, TransportMetrics.Reason("malformed"));
        if (_malformedLog.TryAcquire(out long suppressed))
        {
            TcpLog.MalformedFrame(_logger, connection.RemoteAddress, connection.Peer, problem, suppressed);
        }
    }

    internal void CountReceived(int bytes)
    {
        Interlocked.Add(ref _counters.BytesReceived, bytes);
        TransportMetrics.FrameBytesReceived.Add(bytes);
    }

    internal void CountBytesSent(long bytes)
    {
        Interlocked.Add(ref _counters.BytesSent, bytes);
        TransportMetrics.FrameBytesSent.Add(bytes);
    }

    internal void CountSent(bool compressed)
    {
        Interlocked.Increment(ref _counters.FramesSent);
        TransportMetrics.FramesSent.Add(1);
        if (compressed)
        {
            Interlocked.Increment(ref _counters.FramesCompressed);
            TransportMetrics.FramesCompressed.Add(1);
        }
    }

    internal void CountQueueFull()
    {
        Interlocked.Increment(ref _counters.FramesDroppedQueueFull);
        TransportMetrics.FramesDropped.Add(1, TransportMetrics.Reason("queue_full"));
    }

    internal void CountKeepalive() => Interlocked.Increment(ref _counters.KeepalivesReceived);
}
