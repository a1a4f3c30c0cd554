using System.Collections.Concurrent;
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
            if (!_connections.TryGetValue(destination, out var connection))
            {
                connection = OpenConnection(destination, out var refusal);
                if (connection is null)
                {
                    if (refusal == SendStatus.Unreachable)
                    {
                        Interlocked.Increment(ref _counters.FramesDroppedUnreachable);
                        TransportMetrics.FramesDropped.Add(1, TransportMetrics.Reason("unreachable"));
                    }

                    return refusal;
                }
            }

            var status = connection.TrySend(body);
            if (status != SendStatus.Closed)
            {
                return status;
            }

            // Closed or retiring: it is (or is about to be) unregistered; look again for its successor.
            _connections.TryRemove(KeyValuePair.Create(destination, connection));
        }

        return SendStatus.Unreachable;
    }

    /// <summary>Registers and starts a new outbound connection, or says why not (backing off, shut down).</summary>
    private TcpConnection? OpenConnection(PeerEndpoint destination, out SendStatus refusal)
    {
        while (true)
        {
            if (_backoff.TryGetValue(destination, out var backoff) && backoff.IsWaiting(Time.GetTimestamp()))
            {
                refusal = SendStatus.Unreachable;
                return null;
            }

            var created = TcpConnection.CreateOutbound(this, destination, _handshake);
            if (!_connections.TryAdd(destination, created))
            {
                // Another sender opened one first: use theirs.
                created.Abandon();
                if (_connections.TryGetValue(destination, out var existing))
                {
                    refusal = SendStatus.Sent;
                    return existing;
                }

                continue;
            }

            Track(created);
            created.Start();
            if (!IsRunning)
            {
                // Disposal began while we opened it and may have missed it.
                created.Close(CloseCause.Disposed);
                refusal = SendStatus.Closed;
                return null;
            }

            refusal = SendStatus.Sent;
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
