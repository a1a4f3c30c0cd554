using System.Buffers;
using System.Net.Sockets;
using Engine.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Engine.Transport.Udp;

/// <summary>
/// One UDP socket per node: a receive loop that validates the 4-byte datagram header and hands bodies to an
/// <see cref="ITransportHandler"/>, and a synchronous, allocation-free <see cref="Send"/>. Both halves are split into
/// partial files (<c>UdpEndpoint.Receive.cs</c>, <c>UdpEndpoint.Send.cs</c>). The socket is non-blocking, so a send never
/// waits: a full send buffer is reported as <see cref="SendStatus.Unreachable"/>.
/// </summary>
internal sealed partial class UdpEndpoint : IAsyncDisposable
{
    /// <summary>Receive buffer size: larger than any UDP payload, so an oversized datagram is seen whole and rejected.</summary>
    internal const int ReceiveBufferSize = 64 * 1024;

    private static readonly TimeSpan LogInterval = TimeSpan.FromSeconds(1);

    private readonly TransportOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly int _maxPayload;
    private readonly LogRateLimiter _dropLogLimiter;
    private readonly LogRateLimiter _sendLogLimiter;
    private readonly LogRateLimiter _receiveErrorLogLimiter;
    private readonly LogRateLimiter _handlerLogLimiter;
    private readonly long[] _droppedByReason = new long[(int)DatagramError.TooLarge + 1];

    private Socket? _socket;
    private AddressFamily _family;
    private ITransportHandler? _handler;
    private byte[]? _receiveBuffer;
    private Task? _receiveLoop;
    private int _disposed;

    private long _received;
    private long _receivedBytes;
    private long _dropped;
    private long _sent;
    private long _sentBytes;
    private long _sendFailures;
    private long _sendTooLarge;
    private long _receiveErrors;
    private long _handlerErrors;

    public UdpEndpoint(TransportOptions options, ILogger logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        _options = options;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _maxPayload = options.MaxDatagramPayload;
        _dropLogLimiter = new LogRateLimiter(_time, LogInterval);
        _sendLogLimiter = new LogRateLimiter(_time, LogInterval);
        _receiveErrorLogLimiter = new LogRateLimiter(_time, LogInterval);
        _handlerLogLimiter = new LogRateLimiter(_time, LogInterval);
    }

    /// <summary>The bound address and port (valid after <see cref="Bind()"/> or <see cref="Start"/>).</summary>
    public PeerEndpoint LocalEndpoint { get; private set; }

    /// <summary>The largest body <see cref="Send"/> accepts.</summary>
    public int MaxDatagramPayload => _maxPayload;

    /// <summary>True once the socket is bound.</summary>
    public bool IsBound => _socket is not null;

    /// <summary>Binds to <see cref="TransportOptions.ListenEndpoint"/> (port 0 picks a free port).</summary>
    public void Bind() => Bind(_options.ListenEndpoint);

    /// <summary>
    /// Binds to <paramref name="endpoint"/>. Throws <see cref="SocketException"/> (AddressAlreadyInUse) when the port is
    /// taken, so a caller that needs UDP and TCP on one port can retry with another.
    /// </summary>
    public void Bind(PeerEndpoint endpoint)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_socket is not null)
        {
            throw new InvalidOperationException($"The UDP endpoint is already bound to {LocalEndpoint}.");
        }

        var family = endpoint.IsIPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6;
        var socket = new Socket(family, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (family == AddressFamily.InterNetworkV6)
            {
                // Accept IPv4 peers too (as ::ffff:a.b.c.d, which is how PeerEndpoint stores IPv4 anyway).
                socket.DualMode = true;
            }

            socket.ReceiveBufferSize = _options.UdpReceiveBufferBytes;
            socket.SendBufferSize = _options.UdpSendBufferBytes;
            // A dedicated receive thread needs blocking calls. Otherwise the socket is non-blocking, so a full send buffer
            // fails a send (Unreachable) instead of stalling the caller.
            socket.Blocking = _options.UdpReceiveThread;
            if (OperatingSystem.IsWindows())
            {
                // Without this, an ICMP port-unreachable for an earlier send fails the next receive with ConnectionReset.
                const int SioUdpConnReset = -1744830452;
                socket.IOControl(SioUdpConnReset, [0, 0, 0, 0], null);
            }

            socket.Bind(endpoint.ToIPEndPoint());
            LocalEndpoint = PeerEndpoint.FromIPEndPoint((System.Net.IPEndPoint)socket.LocalEndPoint!);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        _family = family;
        _socket = socket;
        UdpLog.Bound(_logger, LocalEndpoint, socket.ReceiveBufferSize, socket.SendBufferSize, _maxPayload);
    }

    /// <summary>Releases a socket that was bound but never started (so a caller can retry another port).</summary>
    public void Unbind()
    {
        if (_handler is not null)
        {
            throw new InvalidOperationException("The UDP endpoint is started; dispose it instead.");
        }

        var socket = _socket;
        if (socket is null)
        {
            return;
        }

        _socket = null;
        LocalEndpoint = default;
        socket.Dispose();
    }

    /// <summary>Binds (if not bound yet) and starts the receive loop, which delivers bodies to <paramref name="handler"/>.</summary>
    public void Start(ITransportHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (_handler is not null)
        {
            throw new InvalidOperationException("The UDP endpoint is already started.");
        }

        if (_socket is null)
        {
            Bind();
        }

        _handler = handler;
        _receiveBuffer = ArrayPool<byte>.Shared.Rent(ReceiveBufferSize);
        _receiveLoop = _options.UdpReceiveThread ? StartReceiveThread() : Task.Run(ReceiveLoopAsync);
    }

    /// <summary>How many received datagrams were dropped for <paramref name="reason"/>.</summary>
    public long GetDroppedCount(DatagramError reason) =>
        (uint)reason < (uint)_droppedByReason.Length ? Volatile.Read(ref _droppedByReason[(int)reason]) : 0;

    /// <summary>A snapshot of the counters.</summary>
    public UdpStats Stats => new(
        Volatile.Read(ref _received),
        Volatile.Read(ref _receivedBytes),
        Volatile.Read(ref _dropped),
        Volatile.Read(ref _sent),
        Volatile.Read(ref _sentBytes),
        Volatile.Read(ref _sendFailures),
        Volatile.Read(ref _sendTooLarge),
        Volatile.Read(ref _receiveErrors),
        Volatile.Read(ref _handlerErrors));

    /// <summary>Stops the receive loop, closes the socket, waits for the loop to finish and returns its buffer.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        // Closing the socket completes the pending receive with OperationAborted (or ObjectDisposedException). A thread
        // blocked in recvfrom is woken first by a datagram to ourselves (and, failing that, by its receive timeout).
        if (_options.UdpReceiveThread && _receiveLoop is not null)
        {
            WakeReceiveThread();
        }

        _socket?.Dispose();
        if (_receiveLoop is not null)
        {
            await _receiveLoop.ConfigureAwait(false);
        }

        if (_receiveBuffer is not null)
        {
            ArrayPool<byte>.Shared.Return(_receiveBuffer);
            _receiveBuffer = null;
        }

        if (_socket is not null)
        {
            var stats = Stats;
            UdpLog.Stopped(_logger, LocalEndpoint, stats.Received, stats.Dropped, stats.Sent);
        }
    }
}
