namespace Engine.Transport;

/// <summary>Limits and timings of the socket transport. Every value is validated by <see cref="Validate"/>.</summary>
public sealed class TransportOptions
{
    /// <summary>The address and port to bind (UDP and TCP on the same port). Port 0 picks a free port.</summary>
    public PeerEndpoint ListenEndpoint { get; set; } = PeerEndpoint.Loopback(0);

    /// <summary>Largest datagram body in bytes (default 1,400: fits an Ethernet MTU with IP/UDP headers).</summary>
    public int MaxDatagramPayload { get; set; } = 1400;

    /// <summary>Largest frame body in bytes, before and after decompression (default 16 MiB).</summary>
    public int MaxFramePayload { get; set; } = 16 * 1024 * 1024;

    /// <summary>Frame bodies at least this large are LZ4-compressed when that makes them smaller (default 4 KiB; 0 turns LZ4 off).</summary>
    public int CompressionThreshold { get; set; } = 4096;

    /// <summary>Bytes a connection may hold queued for sending before further frames are dropped (default 4 MiB).</summary>
    public int MaxSendQueueBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>How long a TCP connect may take (Fabric's dialTimeout, default 3 s).</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>First delay before reconnecting to a peer whose connect failed; doubles per failure (default 100 ms).</summary>
    public TimeSpan ReconnectBackoffInitial { get; set; } = TimeSpan.FromMilliseconds(100);

    /// <summary>Cap on the reconnect delay (default 5 s).</summary>
    public TimeSpan ReconnectBackoffMax { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A connection that carries no message frame either way for this long is closed (default 2 min); keepalives, sent
    /// on a connection quiet for a third of this, do not count as use, but a connection on which not even they arrive
    /// closes too.
    /// </summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>A connection that starts a frame and does not finish it within this time is closed (default 10 s).</summary>
    public TimeSpan FrameReadTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Most inbound connections held at once; more are refused (default 1,024).</summary>
    public int MaxInboundConnections { get; set; } = 1024;

    /// <summary>UDP socket receive buffer in bytes (default 4 MiB).</summary>
    public int UdpReceiveBufferBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>UDP socket send buffer in bytes (default 1 MiB).</summary>
    public int UdpSendBufferBytes { get; set; } = 1024 * 1024;

    /// <summary>
    /// Receive datagrams on a dedicated thread with blocking calls (default true): the fastest path, allocation-free, one
    /// thread per transport. Set false to receive on the thread pool instead — for many transports in one process
    /// (simulations, the load generator's many-peer runs).
    /// </summary>
    public bool UdpReceiveThread { get; set; } = true;

    /// <summary>
    /// Mutual TLS on every TCP connection, with the PKI-ID bound to the presented certificate (null, the default: plain
    /// TCP). UDP datagrams are not encrypted; the messages that must be authentic in them are signed.
    /// </summary>
    public TransportSecurity? Security { get; set; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first bad value.</summary>
    public void Validate()
    {
        Require(MaxDatagramPayload is >= 64 and <= DatagramHeader.MaxUdpPayload - DatagramHeader.Size, nameof(MaxDatagramPayload),
            $"must be between 64 and {DatagramHeader.MaxUdpPayload - DatagramHeader.Size} bytes, was {MaxDatagramPayload}");
        Require(MaxFramePayload is >= 1024 and <= FrameHeader.MaxBodyLength, nameof(MaxFramePayload),
            $"must be between 1024 and {FrameHeader.MaxBodyLength} bytes, was {MaxFramePayload}");
        Require(CompressionThreshold >= 0, nameof(CompressionThreshold), $"must not be negative, was {CompressionThreshold}");
        Require(MaxSendQueueBytes >= 64 * 1024, nameof(MaxSendQueueBytes), $"must be at least 64 KiB, was {MaxSendQueueBytes}");
        Require(ConnectTimeout > TimeSpan.Zero, nameof(ConnectTimeout), $"must be positive, was {ConnectTimeout}");
        Require(ReconnectBackoffInitial > TimeSpan.Zero, nameof(ReconnectBackoffInitial), $"must be positive, was {ReconnectBackoffInitial}");
        Require(ReconnectBackoffMax >= ReconnectBackoffInitial, nameof(ReconnectBackoffMax),
            $"must be at least {nameof(ReconnectBackoffInitial)} ({ReconnectBackoffInitial}), was {ReconnectBackoffMax}");
        Require(IdleTimeout > TimeSpan.Zero, nameof(IdleTimeout), $"must be positive, was {IdleTimeout}");
        Require(FrameReadTimeout > TimeSpan.Zero, nameof(FrameReadTimeout), $"must be positive, was {FrameReadTimeout}");
        Require(MaxInboundConnections > 0, nameof(MaxInboundConnections), $"must be positive, was {MaxInboundConnections}");
        Require(UdpReceiveBufferBytes > 0, nameof(UdpReceiveBufferBytes), $"must be positive, was {UdpReceiveBufferBytes}");
        Require(UdpSendBufferBytes > 0, nameof(UdpSendBufferBytes), $"must be positive, was {UdpSendBufferBytes}");
    }

    private static void Require(bool condition, string name, string message)
    {
        if (!condition)
        {
            throw new ArgumentException($"Transport option {name} {message}.", name);
        }
    }
}
