using System.Collections.Concurrent;
using System.Net.Sockets;
using Engine.Diagnostics;

namespace Engine.Transport.Tcp;

/// <summary>Sending: find or open the peer's connection, queue the frame; reconnect backoff for unreachable peers.</summary>
internal sealed partial class TcpConnectionManager
{
    private const int MaxSendAttempts = 4;

    private readonly ConcurrentDictionary<PeerEndpoint, ReconnectBackoff> _backoff = new();
    private readonly LogRateLimiter _connectFailedLog;

    /// <summary>
    /// Queues one frame to <paramref name="destination"/>'s listening endpoint on the connection to that peer, opening it
    /// if there is none (the frame waits in its queue while it connects). Never blocks. Returns
    /// <see cref="SendStatus.Unreachable"/> without trying while the peer's last connect failure is backing off.
    /// </summary>
    public SendStatus Send(PeerEndpoint destination, ReadOnlySpan<byte> body)
    {
        if (body.Length > Options.MaxFramePayload)
        {
            Interlocked.Increment(ref _counters.FramesDroppedTooLarge);
            TransportMetrics.FramesDropped.Add(1, TransportMetrics.Reason("too_large"));
            return SendStatus.TooLarge;
        }

        if (!IsRunning)
        {
            return SendStatus.Closed;
        }

        for (int attempt = 0; attempt < MaxSendAttempts; attempt++)
        {
            SendStatus status;
            if (_connections.TryGetValue(destination, out var connection))
            {
                status = connection.TrySend(body);
            }
            else
            {
                connection = OpenConnection(destination, body, out status);
                if (connection is null)
                {
                    if (status == SendStatus.Unreachable)
                    {
                        Interlocked.Increment(ref _counters.FramesDroppedUnreachable);
                        TransportMetrics.FramesDropped.Add(1, TransportMetrics.Reason("unreachable"));
                    }

                    return status;
                }
            }

            if (status != SendStatus.Closed)
            {
                return status;
            }

            // Closed or retiring: it is (or is about to be) unregistered; look again for its successor.
            _connections.TryRemove(KeyValuePair.Create(destination, connection));
        }

        return SendStatus.Unreachable;
    }

    /// <summary>
    /// Registers a new outbound connection, queues <paramref name="firstFrame"/> on it and only then starts connecting
    /// (a refusal can complete synchronously; the frame must already be in the queue it drops and counts). Returns null
    /// with the refusal in <paramref name="status"/> while the peer is backing off or the manager is shutting down.
    /// </summary>
    private TcpConnection? OpenConnection(PeerEndpoint destination, ReadOnlySpan<byte> firstFrame, out SendStatus status)
    {
        while (true)
        {
            if (_backoff.TryGetValue(destination, out var backoff) && backoff.IsWaiting(Time.GetTimestamp()))
            {
                status = SendStatus.Unreachable;
                return null;
            }

            TcpConnection created;
            try
            {
                created = TcpConnection.CreateOutbound(this, destination, _handshake);
            }
            catch (SocketException)
            {
                // No socket to be had (the process or system is out of file descriptors): like a failed connect, not a crash.
                status = SendStatus.Unreachable;
                return null;
            }

            if (!_connections.TryAdd(destination, created))
            {
                // Another sender opened one first: use theirs.
                created.Abandon();
                if (_connections.TryGetValue(destination, out var existing))
                {
                    status = existing.TrySend(firstFrame);
                    return existing;
                }

                continue;
            }

            Track(created);
            status = created.TrySend(firstFrame);
            created.Start();
            if (!IsRunning)
            {
                // Disposal began while we opened it and may have missed it.
                created.Close(CloseCause.Disposed);
                status = SendStatus.Closed;
                return null;
            }

            return created;
        }
    }

    /// <summary>An outbound connect succeeded: the peer is reachable again.</summary>
    internal void OnConnected(TcpConnection connection)
    {
        _backoff.TryRemove(connection.Peer, out _);
        Interlocked.Increment(ref _counters.ConnectionsOpened);
        TransportMetrics.ConnectionsOpened.Add(1, TransportMetrics.Direction(inbound: false));
        TcpLog.ConnectionOpened(_logger, connection.Direction, connection.Peer, connection.RemoteAddress);
    }

    /// <summary>An outbound connect failed: back off, log (rate-limited), close (dropping and counting what was queued).</summary>
    internal void OnConnectFailed(TcpConnection connection, string failure)
    {
        var backoff = _backoff.GetOrAdd(connection.Peer, static _ => new ReconnectBackoff());
        var delay = backoff.Fail(Time.GetTimestamp(), Time, Options.ReconnectBackoffInitial, Options.ReconnectBackoffMax);
        Interlocked.Increment(ref _counters.ConnectFailures);
        TransportMetrics.ConnectFailures.Add(1);
        if (_connectFailedLog.TryAcquire(out long suppressed))
        {
            TcpLog.ConnectFailed(_logger, connection.Peer, failure, (long)delay.TotalMilliseconds, suppressed);
        }

        connection.Close(CloseCause.ConnectFailed, failure);
    }
}
