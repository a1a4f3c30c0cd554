using System.Net;
using System.Net.Sockets;
using Engine.Diagnostics;

namespace Engine.Transport.Tcp;

/// <summary>
/// Accepting: the inbound cap, and filing an inbound connection under the endpoint its handshake names, which includes
/// settling the race when two peers connect to each other at once.
/// </summary>
internal sealed partial class TcpConnectionManager
{
    private readonly LogRateLimiter _refusedLog;
    private StreamListener? _listener;
    private Action<System.Net.Sockets.Socket>? _onAccepted;
    private int _inbound;

    private void OnAccepted(Socket socket)
    {
        if (!IsRunning)
        {
            socket.Dispose();
            return;
        }

        int inbound = Interlocked.Increment(ref _inbound);
        if (inbound > Options.MaxInboundConnections)
        {
            Interlocked.Decrement(ref _inbound);
            var remote = socket.RemoteEndPoint is IPEndPoint ip ? PeerEndpoint.FromIPEndPoint(ip) : default;
            Interlocked.Increment(ref _counters.ConnectionsRefused);
            TransportMetrics.ConnectionsRefused.Add(1, TransportMetrics.Reason("inbound_limit"));
            if (_refusedLog.TryAcquire(out long suppressed))
            {
                TcpLog.InboundRefused(_logger, remote, inbound - 1, Options.MaxInboundConnections, suppressed);
            }

            socket.Dispose(); // counted first: whoever sees the close can rely on the count
            return;
        }

        var connection = TcpConnection.CreateInbound(this, socket, _handshake);
        Track(connection);
        connection.Start();
        if (!IsRunning)
        {
            connection.Close(CloseCause.Disposed);
        }
    }

    /// <summary>
    /// An inbound connection named its peer. It becomes that peer's connection for sending too, unless there already is
    /// one. Two connections to one peer happen when both sides connect at once; both sides then keep the one opened by the
    /// lower endpoint (so they agree without talking), and the other is retired: it takes no new frames, sends what it
    /// holds and closes, while the kept one holds its frames until then, so nothing is lost or reordered.
    /// </summary>
    internal void OnInboundHandshake(TcpConnection connection)
    {
        var peer = connection.Peer;
        Interlocked.Increment(ref _counters.ConnectionsOpened);
        TransportMetrics.ConnectionsOpened.Add(1, TransportMetrics.Direction(inbound: true));
        TcpLog.ConnectionOpened(_logger, connection.Direction, peer, connection.RemoteAddress);

        while (IsRunning && !connection.IsClosed)
        {
            if (!_connections.TryGetValue(peer, out var existing))
            {
                if (_connections.TryAdd(peer, connection))
                {
                    return;
                }

                continue;
            }

            if (!existing.IsInbound && LocalEndpoint <= peer)
            {
                // Ours was opened by the lower endpoint: keep it. The peer retires this one after draining it. (Equal
                // endpoints: we connected to ourselves, and this is the far end of that very connection.)
                TcpLog.DuplicateConnection(_logger, peer, existing.Direction, connection.Direction);
                return;
            }

            // This one wins (the peer is the lower endpoint, or it replaces an older inbound one from a restarted peer).
            connection.FollowAfter(existing);
            if (_connections.TryUpdate(peer, connection, existing))
            {
                TcpLog.DuplicateConnection(_logger, peer, connection.Direction, existing.Direction);
                Interlocked.Increment(ref _counters.ConnectionsRetired);
                existing.Retire();
                return;
            }

            connection.FollowAfter(null);
        }
    }
}
