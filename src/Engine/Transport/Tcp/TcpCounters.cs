namespace Engine.Transport.Tcp;

/// <summary>
/// Per-manager running totals (the process-wide view is <see cref="Diagnostics.TransportMetrics"/>); updated with
/// interlocked adds, read as a <see cref="TcpStats"/> snapshot.
/// </summary>
internal sealed class TcpCounters
{
    public long FramesSent;
    public long FramesReceived;
    public long FramesCompressed;
    public long FramesDroppedQueueFull;
    public long FramesDroppedConnectionLost;
    public long FramesDroppedTooLarge;
    public long FramesDroppedUnreachable;
    public long BytesSent;
    public long BytesReceived;
    public long KeepalivesReceived;
    public long MalformedFrames;
    public long ConnectionsOpened;
    public long ConnectionsClosed;
    public long ConnectionsRefused;
    public long ConnectionsUnauthenticated;
    public long ConnectFailures;
    public long ConnectionsRetired;
}

/// <summary>A snapshot of a <see cref="TcpConnectionManager"/>'s counters.</summary>
internal readonly record struct TcpStats
{
    /// <summary>Connections alive now (connecting, open or draining), either direction.</summary>
    public int ActiveConnections { get; init; }

    /// <summary>Inbound connections alive now (counted against <see cref="TransportOptions.MaxInboundConnections"/>).</summary>
    public int InboundConnections { get; init; }

    /// <summary>Peers with a connection used for sending.</summary>
    public int RegisteredPeers { get; init; }

    public long FramesSent { get; init; }

    public long FramesReceived { get; init; }

    public long FramesCompressed { get; init; }

    public long FramesDroppedQueueFull { get; init; }

    /// <summary>Accepted frames still queued when their connection failed.</summary>
    public long FramesDroppedConnectionLost { get; init; }

    public long FramesDroppedTooLarge { get; init; }

    /// <summary>Frames refused because the peer's connect failed recently and is backing off.</summary>
    public long FramesDroppedUnreachable { get; init; }

    public long FramesDropped => FramesDroppedQueueFull + FramesDroppedConnectionLost + FramesDroppedTooLarge + FramesDroppedUnreachable;

    /// <summary>Stream bytes handed to sockets, headers included.</summary>
    public long BytesSent { get; init; }

    /// <summary>Stream bytes read from sockets.</summary>
    public long BytesReceived { get; init; }

    public long KeepalivesReceived { get; init; }

    public long MalformedFrames { get; init; }

    public long ConnectionsOpened { get; init; }

    public long ConnectionsClosed { get; init; }

    public long ConnectionsRefused { get; init; }

    /// <summary>Connections closed by TLS: an untrusted, expired or missing certificate, or a PKI-ID not bound to it.</summary>
    public long ConnectionsUnauthenticated { get; init; }

    public long ConnectFailures { get; init; }

    /// <summary>Duplicate connections (both sides connected at once) drained and retired.</summary>
    public long ConnectionsRetired { get; init; }
}
