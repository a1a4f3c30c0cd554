using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Engine.Transport.Tcp;

/// <summary>Log lines of the stream transport (event ids 2100-2199).</summary>
internal static partial class TcpLog
{
    [LoggerMessage(EventId = 2100, Level = LogLevel.Information, Message = "Stream listener bound to {Endpoint}")]
    public static partial void Listening(ILogger logger, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 2101, Level = LogLevel.Information,
        Message = "Stream connection opened: {Direction} with peer {Peer} (remote address {Remote})")]
    public static partial void ConnectionOpened(ILogger logger, string direction, PeerEndpoint peer, PeerEndpoint remote);

    [LoggerMessage(EventId = 2102,
        Message = "Stream connection closed: {Direction} with peer {Peer} (remote address {Remote}), reason: {Reason}; {DroppedFrames} queued frames dropped")]
    public static partial void ConnectionClosed(ILogger logger, LogLevel level, string direction, PeerEndpoint peer, PeerEndpoint remote, string reason, int droppedFrames);

    [LoggerMessage(EventId = 2103, Level = LogLevel.Warning,
        Message = "Cannot connect to peer {Peer}: {Reason}; retrying no sooner than {RetryInMs} ms ({Suppressed} similar lines suppressed)")]
    public static partial void ConnectFailed(ILogger logger, PeerEndpoint peer, string reason, long retryInMs, long suppressed);

    [LoggerMessage(EventId = 2104, Level = LogLevel.Warning,
        Message = "Malformed frame from {Remote} (peer {Peer}): {Problem}; closing that connection ({Suppressed} similar lines suppressed)")]
    public static partial void MalformedFrame(ILogger logger, PeerEndpoint remote, PeerEndpoint peer, string problem, long suppressed);

    [LoggerMessage(EventId = 2105, Level = LogLevel.Warning,
        Message = "Inbound stream connection from {Remote} refused: {Inbound} inbound connections reach the limit of {Max} ({Suppressed} similar lines suppressed)")]
    public static partial void InboundRefused(ILogger logger, PeerEndpoint remote, int inbound, int max, long suppressed);

    [LoggerMessage(EventId = 2106, Level = LogLevel.Error, Message = "Frame handler threw on a frame from peer {Peer}")]
    public static partial void HandlerFailed(ILogger logger, PeerEndpoint peer, Exception exception);

    [LoggerMessage(EventId = 2107, Level = LogLevel.Warning, Message = "Accept on {Endpoint} failed: {Error}")]
    public static partial void AcceptFailed(ILogger logger, PeerEndpoint endpoint, SocketError error);

    [LoggerMessage(EventId = 2109, Level = LogLevel.Warning,
        Message = "Refused {Direction} TLS connection with {Remote}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void TlsRefused(ILogger logger, string direction, PeerEndpoint remote, string reason, long suppressed);

    [LoggerMessage(EventId = 2108, Level = LogLevel.Debug,
        Message = "Peer {Peer} connected to us while we connected to it: keeping the {Kept} connection, retiring the {Retired} one once drained")]
    public static partial void DuplicateConnection(ILogger logger, PeerEndpoint peer, string kept, string retired);
}
