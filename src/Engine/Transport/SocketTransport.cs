using System.Net.Sockets;
using Engine.Transport.Tcp;
using Engine.Transport.Udp;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Transport;

/// <summary>
/// The real transport: a UDP socket for datagrams and a TCP listener plus outbound connection manager for framed
/// streams, both on the same port, so one <see cref="PeerEndpoint"/> addresses a peer for both.
/// </summary>
public sealed class SocketTransport : ITransport
{
    private const int EphemeralBindAttempts = 16;

    private readonly TransportOptions _options;
    private readonly UdpEndpoint _udp;
    private readonly TcpConnectionManager _tcp;
    private int _state; // 0 created, 1 started, 2 disposed

    private SocketTransport(TransportOptions options, ILoggerFactory loggerFactory, TimeProvider time)
    {
        _options = options;
        _udp = new UdpEndpoint(options, loggerFactory.CreateLogger("Engine.Transport.Udp"), time);
        _tcp = new TcpConnectionManager(options, loggerFactory.CreateLogger("Engine.Transport.Tcp"), time);
    }

    /// <summary>
    /// Creates a transport. Options are validated now (a bad value throws <see cref="ArgumentException"/> naming it);
    /// sockets are bound by <see cref="StartAsync"/>.
    /// </summary>
    public static SocketTransport Create(TransportOptions options, ILoggerFactory? loggerFactory = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        return new SocketTransport(options, loggerFactory ?? NullLoggerFactory.Instance, timeProvider ?? TimeProvider.System);
    }

    /// <inheritdoc/>
    public PeerEndpoint LocalEndpoint { get; private set; }

    /// <inheritdoc/>
    public int MaxDatagramPayload => _options.MaxDatagramPayload;

    /// <inheritdoc/>
    public int MaxFramePayload => _options.MaxFramePayload;

    /// <inheritdoc/>
    /// <exception cref="InvalidOperationException">The transport was already started, or liblz4 is missing.</exception>
    /// <exception cref="SocketException">The port is taken (for a fixed port), or no free port pair was found.</exception>
    public async ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(handler);
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("The transport is already started or disposed.");
        }

        var requested = _options.ListenEndpoint;
        for (int attempt = 1; ; attempt++)
        {
            // UDP first: with port 0 it picks a free port, and TCP then binds the same number. If TCP finds that number
            // taken, try another pair; a fixed port that is taken is the caller's error to see.
            _udp.Bind(requested);
            try
            {
                await _tcp.StartAsync(handler, _udp.LocalEndpoint, cancellationToken).ConfigureAwait(false);
                break;
            }
            catch (SocketException e) when (e.SocketErrorCode == SocketError.AddressAlreadyInUse && requested.Port == 0 && attempt < EphemeralBindAttempts)
            {
                _udp.Unbind();
            }
        }

        LocalEndpoint = _udp.LocalEndpoint;
        _udp.Start(handler);
    }

    /// <inheritdoc/>
    public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload) =>
        Volatile.Read(ref _state) == 1 ? _udp.Send(destination, payload) : SendStatus.Closed;

    /// <inheritdoc/>
    public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) =>
        Volatile.Read(ref _state) == 1 ? _tcp.Send(destination, payload) : SendStatus.Closed;

    /// <summary>Counters of both halves, for tools and diagnostics.</summary>
    internal (UdpStats Udp, TcpStats Tcp) GetStats() => (_udp.Stats, _tcp.GetStats());

    /// <summary>Closes every connection and both sockets, and waits for their loops to end.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        await _tcp.DisposeAsync().ConfigureAwait(false);
        await _udp.DisposeAsync().ConfigureAwait(false);
    }
}
