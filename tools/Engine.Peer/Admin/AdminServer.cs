using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Diagnostics;
using Engine.Peer.Hosting;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Admin;

/// <summary>
/// The peer's local admin port: a TCP listener on a loopback address that answers line-JSON requests
/// (<see cref="AdminProtocol"/>). It is not authenticated, so it refuses to bind anything but loopback. Connections are
/// bounded in number, request size and idle time; a bad request is answered with an error and logged (rate-limited).
/// </summary>
internal sealed class AdminServer : IAsyncDisposable
{
    public const int MaxConnections = 8;
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    private readonly PeerEndpoint _requested;
    private readonly Func<AdminRequest, AdminResponse> _handle;
    private readonly IReadOnlyList<string> _commands;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _badRequestLog;
    private readonly LogRateLimiter _busyLog;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly HashSet<Task> _connections = [];
    private TcpListener? _listener;
    private Task? _acceptLoop;
    private long _requests;
    private int _disposed;

    /// <summary>A peer's admin port: answers <c>status</c> with <paramref name="status"/>.</summary>
    public AdminServer(PeerEndpoint listenAddress, Func<PeerStatus> status, ILogger logger, TimeProvider time)
        : this(listenAddress, _ => new AdminResponse(true, null, status()), AdminProtocol.Commands, logger, time)
    {
    }

    /// <summary>
    /// An admin port answering <paramref name="commands"/> with <paramref name="handle"/>; the handler throws
    /// <see cref="AdminRequestException"/> for a request it cannot carry out (answered as an error and logged).
    /// </summary>
    public AdminServer(PeerEndpoint listenAddress, Func<AdminRequest, AdminResponse> handle, IReadOnlyList<string> commands, ILogger logger, TimeProvider time)
    {
        if (!IPAddress.IsLoopback(listenAddress.ToIPAddress()))
        {
            throw new ArgumentException($"The admin port binds only a loopback address, not {listenAddress}.", nameof(listenAddress));
        }

        _handle = handle;
        _commands = commands;
        _requested = listenAddress;
        _logger = logger;
        _badRequestLog = new LogRateLimiter(time, TimeSpan.FromSeconds(5));
        _busyLog = new LogRateLimiter(time, TimeSpan.FromSeconds(5));
    }

    /// <summary>The bound endpoint (the actual port when 0 was asked for); valid after <see cref="Start"/>.</summary>
    public PeerEndpoint LocalEndpoint { get; private set; }

    /// <summary>Requests answered so far.</summary>
    public long Requests => Interlocked.Read(ref _requests);

    /// <summary>Binds and starts accepting. Throws <see cref="SocketException"/> when the port is taken.</summary>
    public void Start()
    {
        var listener = new TcpListener(_requested.ToIPEndPoint());
        listener.Start(backlog: MaxConnections);
        _listener = listener;
        LocalEndpoint = PeerEndpoint.FromIPEndPoint((IPEndPoint)listener.LocalEndpoint);
        AdminLog.Listening(_logger, LocalEndpoint);
        _acceptLoop = AcceptLoopAsync(listener);
    }

    private async Task AcceptLoopAsync(TcpListener listener)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(_stop.Token);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue; // a connection reset before it was accepted; keep serving
            }

            string remote = socket.RemoteEndPoint?.ToString() ?? "?";
            lock (_gate)
            {
                if (_connections.Count >= MaxConnections)
                {
                    if (_busyLog.TryAcquire(out long suppressed))
                    {
                        AdminLog.Busy(_logger, remote, _connections.Count, MaxConnections, suppressed);
                    }

                    socket.Dispose();
                    continue;
                }

                var task = ServeAsync(socket, remote);
                _connections.Add(task);
                _ = task.ContinueWith(t => Forget(t), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
            }
        }
    }

    private void Forget(Task task)
    {
        lock (_gate)
        {
            _connections.Remove(task);
        }
    }

    private async Task ServeAsync(Socket socket, string remote)
    {
        await Task.Yield();
        using var idle = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var buffer = new byte[AdminProtocol.MaxRequestBytes];
        int filled = 0;
        try
        {
            using var stream = new NetworkStream(socket, ownsSocket: true);
            while (true)
            {
                idle.CancelAfter(IdleTimeout);
                int newline = Array.IndexOf(buffer, (byte)'\n', 0, filled);
                if (newline < 0)
                {
                    if (filled == buffer.Length)
                    {
                        await ReplyErrorAsync(stream, remote, $"request longer than {AdminProtocol.MaxRequestBytes} bytes", idle.Token);
                        return;
                    }

                    int read = await stream.ReadAsync(buffer.AsMemory(filled), idle.Token);
                    if (read == 0)
                    {
                        return; // the client closed
                    }

                    filled += read;
                    continue;
                }

                var response = Handle(buffer.AsSpan(0, newline), remote);
                await WriteAsync(stream, response, idle.Token);
                filled -= newline + 1;
                Buffer.BlockCopy(buffer, newline + 1, buffer, 0, filled);
            }
        }
        catch (OperationCanceledException)
        {
            // idle too long, or the server is stopping
        }
        catch (IOException)
        {
            // the client went away
        }
        catch (SocketException)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            AdminLog.ConnectionFailed(_logger, remote, e);
        }
    }

    private AdminResponse Handle(ReadOnlySpan<byte> line, string remote)
    {
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        AdminRequest? request;
        try
        {
            request = JsonSerializer.Deserialize(line, AdminProtocol.Json.AdminRequest);
        }
        catch (JsonException e)
        {
            return Reject(remote, $"not a JSON object ({e.Message})");
        }

        if (request?.Command is not { } command)
        {
            return Reject(remote, "no \"command\" field");
        }

        if (!_commands.Contains(command))
        {
            return Reject(remote, $"unknown command '{command}'; commands: {string.Join(", ", _commands)}");
        }

        try
        {
            var response = _handle(request);
            Interlocked.Increment(ref _requests);
            AdminLog.Served(_logger, command, remote);
            return response;
        }
        catch (AdminRequestException e)
        {
            return Reject(remote, e.Message);
        }
    }

    private AdminResponse Reject(string remote, string problem)
    {
        if (_badRequestLog.TryAcquire(out long suppressed))
        {
            AdminLog.BadRequest(_logger, remote, problem, suppressed);
        }

        return new AdminResponse(false, problem, null);
    }

    private async Task ReplyErrorAsync(NetworkStream stream, string remote, string problem, CancellationToken cancellationToken) =>
        await WriteAsync(stream, Reject(remote, problem), cancellationToken);

    private static async Task WriteAsync(NetworkStream stream, AdminResponse response, CancellationToken cancellationToken)
    {
        byte[] json = JsonSerializer.SerializeToUtf8Bytes(response, AdminProtocol.Json.AdminResponse);
        await stream.WriteAsync(json, cancellationToken);
        await stream.WriteAsync("\n"u8.ToArray(), cancellationToken);
    }

    /// <summary>Stops accepting, closes every admin connection and waits for them; idempotent.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync();
        _listener?.Stop();
        if (_acceptLoop is not null)
        {
            await _acceptLoop;
        }

        Task[] open;
        lock (_gate)
        {
            open = [.. _connections];
        }

        await Task.WhenAll(open);
        if (_listener is not null)
        {
            AdminLog.Closed(_logger, LocalEndpoint, Requests);
        }

        _listener?.Dispose();
        _stop.Dispose();
    }
}
