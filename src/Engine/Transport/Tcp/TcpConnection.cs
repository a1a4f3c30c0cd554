using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;

namespace Engine.Transport.Tcp;

/// <summary>
/// One framed TCP stream: a socket between two pipes. The receive loop fills the input pipe, the process loop parses frames
/// out of it and delivers them, and the send loop drains the output pipe that any thread writes frames into
/// (<see cref="TrySend"/>). Split by concern: this file holds the lifecycle (connect, run, retire, close), .Receive.cs
/// the inbound side, .Send.cs the outbound side.
/// </summary>
internal sealed partial class TcpConnection
{
    /// <summary>Pipe segment size: large frames cross few segments and leave in few syscalls.</summary>
    internal const int SegmentSize = BlockMemoryPool.BlockSize;

    private const long NoTimestamp = long.MinValue;

    private static long _nextId;

    private readonly TcpConnectionManager _manager;
    private readonly TransportOptions _options;
    private readonly TimeProvider _time;
    private readonly Socket _socket;
    private readonly Pipe _input;
    private readonly Pipe _output;
    private readonly TaskCompletionSource _completed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private string? _closeReason;
    private volatile bool _closed;
    private volatile bool _opened;
    private int _droppedOnClose;
    private bool _reportLoss;

    private long _openedAt;
    private long _lastReceive;
    private long _lastSend;
    private long _lastUse; // the last message frame queued or delivered: keepalives keep a path checked, not in use

    private TcpConnection(TcpConnectionManager manager, Socket socket, bool inbound, PeerEndpoint peer, PeerEndpoint remoteAddress, byte[] handshake)
    {
        _manager = manager;
        _options = manager.Options;
        _time = manager.Time;
        _socket = socket;
        IsInbound = inbound;
        Peer = peer;
        RemoteAddress = remoteAddress;
        Id = Interlocked.Increment(ref _nextId);

        int maxBuffered = _options.MaxFramePayload + FrameHeader.Size + SegmentSize;
        _input = new Pipe(new PipeOptions(
            pool: manager.BlockPool,
            readerScheduler: PipeScheduler.Inline, // frames are parsed and delivered on the receiving thread
            writerScheduler: PipeScheduler.ThreadPool,
            pauseWriterThreshold: maxBuffered, // a whole maximum frame fits; beyond that the socket is not read
            resumeWriterThreshold: maxBuffered / 2,
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false));
        _output = new Pipe(new PipeOptions(
            pool: manager.BlockPool,
            readerScheduler: PipeScheduler.ThreadPool,
            writerScheduler: PipeScheduler.Inline,
            pauseWriterThreshold: 0, // never blocks a sender: TrySend bounds the queue itself
            minimumSegmentSize: SegmentSize,
            useSynchronizationContext: false));

        long now = _time.GetTimestamp();
        _openedAt = now;
        _lastReceive = now;
        _lastSend = now;
        _lastUse = now;
        _partialSince = NoTimestamp;

        // The handshake goes first, before any frame a sender can queue.
        WriteControlFrame(FrameType.Handshake, handshake);
    }

    public long Id { get; }

    public bool IsInbound { get; }

    public string Direction => IsInbound ? "inbound" : "outbound";

    /// <summary>The peer's listening endpoint: known from the start when outbound, from the handshake when inbound (empty before).</summary>
    public PeerEndpoint Peer { get; private set; }

    /// <summary>The socket's remote address (for inbound connections, the peer's ephemeral port).</summary>
    public PeerEndpoint RemoteAddress { get; }

    /// <summary>True once connected (outbound) or accepted (inbound).</summary>
    public bool IsOpen => _opened;

    public bool IsClosed => _closed;

    /// <summary>The first reason this connection was closed for, or null while it is alive.</summary>
    public string? CloseReason => Volatile.Read(ref _closeReason);

    public CloseCause CloseCause { get; private set; }

    /// <summary>Completes when every loop has ended and every buffer is back in its pool.</summary>
    public Task Completion => _completed.Task;

    internal bool ReportLoss => _reportLoss;

    internal int DroppedOnClose => _droppedOnClose;

    public static TcpConnection CreateOutbound(TcpConnectionManager manager, PeerEndpoint peer, byte[] handshake)
    {
        var socket = new Socket(peer.IsIPv4 ? AddressFamily.InterNetwork : AddressFamily.InterNetworkV6, SocketType.Stream, ProtocolType.Tcp)
        {
            NoDelay = true, // frames are batched before they reach the socket; Nagle would only add latency
        };
        return new TcpConnection(manager, socket, inbound: false, peer, peer, handshake);
    }

    public static TcpConnection CreateInbound(TcpConnectionManager manager, Socket socket, byte[] handshake)
    {
        socket.NoDelay = true;
        var remote = socket.RemoteEndPoint is IPEndPoint ip ? PeerEndpoint.FromIPEndPoint(ip) : default;
        return new TcpConnection(manager, socket, inbound: true, default, remote, handshake);
    }

    /// <summary>Connects (outbound) and runs the loops. Call once, after the connection is tracked by its manager.</summary>
    public void Start()
    {
        lock (_sendLock)
        {
            ScheduleFlush();
        }

        _ = RunAsync();
    }

    /// <summary>Releases a connection that lost a registration race and was never started.</summary>
    public void Abandon()
    {
        Interlocked.CompareExchange(ref _closeReason, "abandoned", null);
        _closed = true;
        lock (_sendLock)
        {
            _writerDone = true;
            _output.Writer.Complete();
            _ledger.Release();
        }

        _output.Reader.Complete();
        _input.Writer.Complete();
        _input.Reader.Complete();
        _socket.Dispose();
    }

    /// <summary>
    /// Closes the connection; only the first call has an effect and its reason is kept. Frames still queued are dropped
    /// and counted; the manager is told (it unregisters the connection and, once the loops end, reports the loss).
    /// </summary>
    public void Close(CloseCause cause, string? detail = null)
    {
        string reason = detail ?? CloseCauses.Describe(cause);
        if (Interlocked.CompareExchange(ref _closeReason, reason, null) is not null)
        {
            return;
        }

        CloseCause = cause;
        _closed = true;
        int dropped;
        lock (_sendLock)
        {
            dropped = _ledger.CountUnsent(Volatile.Read(ref _bytesSent));
            if (!_writerDone)
            {
                _writerDone = true;
                _output.Writer.Complete();
            }
        }

        _droppedOnClose = dropped;
        _reportLoss = _manager.OnClosing(this, cause, reason, dropped);

        // Wake every loop: a pending socket operation fails, pending pipe reads and flushes return cancelled. Shutting
        // down first makes the close orderly (FIN): disposing a socket with operations pending would otherwise reset it.
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        catch (ObjectDisposedException)
        {
        }

        _socket.Dispose();
        _tls?.Dispose();
        _input.Writer.CancelPendingFlush();
        _input.Reader.CancelPendingRead();
        _output.Reader.CancelPendingRead();
    }

    /// <summary>Runs the sweep's checks for this connection at <paramref name="now"/>.</summary>
    internal void Sweep(long now, long idleTicks, long keepaliveTicks, long frameReadTicks)
    {
        if (!_opened || _closed)
        {
            return;
        }

        // Idle: no message frame either way (the keepalives both ends send would otherwise keep every connection open
        // for ever), or nothing at all heard from the peer, not even a keepalive (it is gone).
        if (now - Volatile.Read(ref _lastUse) >= idleTicks || now - Volatile.Read(ref _lastReceive) >= idleTicks)
        {
            Close(CloseCause.Idle);
            return;
        }

        if (!_handshakeReceived && now - Volatile.Read(ref _openedAt) >= frameReadTicks)
        {
            Close(CloseCause.HandshakeTimeout);
            return;
        }

        long partial = Volatile.Read(ref _partialSince);
        if (partial != NoTimestamp && now - partial >= frameReadTicks)
        {
            Close(CloseCause.FrameReadTimeout, $"frame read timeout: a frame was started and not finished within {_options.FrameReadTimeout.TotalMilliseconds:0} ms");
            return;
        }

        if (now - Volatile.Read(ref _lastSend) >= keepaliveTicks)
        {
            SendKeepalive(now);
        }
    }

    private async Task RunAsync()
    {
        try
        {
            if (!IsInbound && !await ConnectAsync().ConfigureAwait(false))
            {
                return;
            }

            if (_options.Security is { } security && !await AuthenticateAsync(security).ConfigureAwait(false))
            {
                return;
            }

            MarkOpened();
            Task receiving = ReceiveLoopAsync();
            Task sending = SendLoopAsync();
            await ProcessLoopAsync().ConfigureAwait(false);
            await receiving.ConfigureAwait(false);
            await sending.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Close(CloseCause.Closed, $"connection failed: {e.GetType().Name}: {e.Message}");
        }
        finally
        {
            Close(CloseCause.Closed);
            lock (_sendLock)
            {
                _ledger.Release();
            }

            // Completing every pipe end (again, where a loop already did) returns the pipes' segments to the pool.
            _input.Writer.Complete();
            _input.Reader.Complete();
            _output.Reader.Complete();
            _manager.OnEnded(this);
            _completed.TrySetResult();
        }
    }

    private async ValueTask<bool> ConnectAsync()
    {
        string? failure = null;
        using (var timeout = new CancellationTokenSource(_options.ConnectTimeout, _time))
        {
            try
            {
                await _socket.ConnectAsync(Peer.ToIPEndPoint(), timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                failure = $"connect timed out after {_options.ConnectTimeout.TotalMilliseconds:0} ms";
            }
            catch (SocketException e)
            {
                failure = $"connect failed: {e.SocketErrorCode}";
            }
            catch (ObjectDisposedException)
            {
                failure = "connect aborted";
            }
        }

        if (_closed)
        {
            return false;
        }

        if (failure is not null)
        {
            _manager.OnConnectFailed(this, failure);
            return false;
        }

        _manager.OnConnected(this);
        return true;
    }

    private void MarkOpened()
    {
        long now = _time.GetTimestamp();
        Volatile.Write(ref _openedAt, now);
        Volatile.Write(ref _lastReceive, now);
        Volatile.Write(ref _lastSend, now);
        Volatile.Write(ref _lastUse, now);
        _opened = true;
    }
}
