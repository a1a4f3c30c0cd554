using Microsoft.Extensions.Logging;

namespace Engine.Transport.Udp;

/// <summary>Log lines of the UDP endpoint (event ids 2100-2199).</summary>
internal static partial class UdpLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information,
        Message = "UDP endpoint bound to {Local} (receive buffer {ReceiveBufferBytes} bytes, send buffer {SendBufferBytes} bytes, max datagram body {MaxPayload} bytes)")]
    public static partial void Bound(ILogger logger, PeerEndpoint local, int receiveBufferBytes, int sendBufferBytes, int maxPayload);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Warning,
        Message = "UDP {Local} dropped a datagram from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void DatagramDropped(ILogger logger, PeerEndpoint local, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 2102, Level = LogLevel.Debug,
        Message = "UDP {Local} refused to send a datagram of {Size} bytes to {Peer}: the maximum body is {MaxPayload} bytes")]
    public static partial void SendTooLarge(ILogger logger, PeerEndpoint local, PeerEndpoint peer, int size, int maxPayload);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Debug,
        Message = "UDP {Local} could not send a datagram to {Peer}: {Error} ({Suppressed} similar lines suppressed)")]
    public static partial void SendFailed(ILogger logger, PeerEndpoint local, PeerEndpoint peer, string error, long suppressed);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning,
        Message = "UDP {Local} receive failed with {Error}; the receive loop continues ({Suppressed} similar lines suppressed)")]
    public static partial void ReceiveFailed(ILogger logger, PeerEndpoint local, string error, long suppressed);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Error,
        Message = "UDP {Local}: the datagram handler threw on a datagram from {Peer}; the receive loop continues ({Suppressed} similar lines suppressed)")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, PeerEndpoint local, PeerEndpoint peer, long suppressed);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Information,
        Message = "UDP endpoint {Local} stopped: received {Received} datagrams, dropped {Dropped}, sent {Sent}")]
    public static partial void Stopped(ILogger logger, PeerEndpoint local, long received, long dropped, long sent);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Error,
        Message = "UDP {Local} receive loop failed unexpectedly; datagrams are no longer received")]
    public static partial void ReceiveLoopCrashed(ILogger logger, Exception exception, PeerEndpoint local);
}
