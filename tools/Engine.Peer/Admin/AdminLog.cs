using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Admin;

/// <summary>Log lines of the admin port (event ids 9100-9199).</summary>
internal static partial class AdminLog
{
    [LoggerMessage(EventId = 9100, Level = LogLevel.Information,
        Message = "Admin port listening on {Endpoint} (loopback only): `Engine.Peer status --peer {Endpoint}` shows this peer")]
    public static partial void Listening(ILogger logger, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 9101, Level = LogLevel.Warning,
        Message = "Bad admin request from {Remote}: {Problem} ({Suppressed} similar lines suppressed)")]
    public static partial void BadRequest(ILogger logger, string remote, string problem, long suppressed);

    [LoggerMessage(EventId = 9102, Level = LogLevel.Warning,
        Message = "Admin connection from {Remote} refused: {Open} connections open, the limit is {Max} ({Suppressed} similar lines suppressed)")]
    public static partial void Busy(ILogger logger, string remote, int open, int max, long suppressed);

    [LoggerMessage(EventId = 9103, Level = LogLevel.Debug, Message = "Admin request '{Command}' from {Remote} answered")]
    public static partial void Served(ILogger logger, string command, string remote);

    [LoggerMessage(EventId = 9104, Level = LogLevel.Error, Message = "Admin connection from {Remote} failed")]
    public static partial void ConnectionFailed(ILogger logger, string remote, Exception exception);

    [LoggerMessage(EventId = 9105, Level = LogLevel.Information, Message = "Admin port on {Endpoint} closed after {Requests} requests")]
    public static partial void Closed(ILogger logger, PeerEndpoint endpoint, long requests);
}
