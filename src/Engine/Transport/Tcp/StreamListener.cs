using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Engine.Transport.Tcp;

/// <summary>The listening socket and its accept loop; every accepted socket is handed to a callback.</summary>
internal sealed class StreamListener : IAsyncDisposable
{
    private const int Backlog = 512;

    private readonly Socket _socket;
    private readonly Action<Socket> _onAccepted;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private Task _acceptLoop = Task.CompletedTask;

    private StreamListener(Socket socket, Action<Socket> onAccepted, ILogger logger, TimeProvider time)
    {
        _socket = socket;
        _onAccepted = onAccepted;
        _logger = logger;
        _time = time;
        LocalEndpoint = PeerEndpoint.FromIPEndPoint((IPEndPoint)socket.LocalEndPoint!);
    }

    /// <summary>The bound endpoint (the real port when port 0 was asked for).</summary>
    public PeerEndpoint LocalEndpoint { get; }

    /// <summary>Binds, listens and starts accepting. Throws <see cref="SocketException"/> if the endpoint cannot be bound.</summary>
    public static StreamListener Start(PeerEndpoint endpoint, Action<Socket> onAccepted, ILogger logger, TimeProvider time)
    {
        var ip = endpoint.ToIPEndPoint();
        var socket = new Socket(ip.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            socket.Bind(ip);
            socket.Listen(Backlog);
        }
        catch
        {
            socket.Dispose();
            throw;
        }

        var listener = new StreamListener(socket, onAccepted, logger, time);
        listener._acceptLoop = listener.AcceptLoopAsync();
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        await _acceptLoop.ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task AcceptLoopAsync()
    {
        while (true)
        {
            Socket accepted;
            try
            {
                accepted = await _socket.AcceptAsync().ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.OperationAborted or SocketError.Interrupted or SocketError.Shutdown)
            {
                return;
            }
            catch (SocketException e)
            {
                // Out of descriptors or a connection reset before accept: log, pause briefly instead of spinning, go on.
                TcpLog.AcceptFailed(_logger, LocalEndpoint, e.SocketErrorCode);
                try
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(50), _time, _stopping.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                continue;
            }

            _onAccepted(accepted);
        }
    }
}
