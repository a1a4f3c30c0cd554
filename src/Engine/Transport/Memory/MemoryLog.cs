using Microsoft.Extensions.Logging;

namespace Engine.Transport.Memory;

/// <summary>Log lines of the in-memory network (event ids 2200-2299).</summary>
internal static partial class MemoryLog
{
    [LoggerMessage(EventId = 2200, Level = LogLevel.Debug, Message = "Memory network: {Peer} joined ({Nodes} nodes)")]
    public static partial void NodeAdded(ILogger logger, PeerEndpoint peer, int nodes);

    [LoggerMessage(EventId = 2201, Level = LogLevel.Debug, Message = "Memory network: {Peer} left ({Nodes} nodes)")]
    public static partial void NodeRemoved(ILogger logger, PeerEndpoint peer, int nodes);

    [LoggerMessage(EventId = 2202, Level = LogLevel.Information,
        Message = "Memory network partitioned (partition {Partition}): {CountA} endpoints cannot reach {CountB} others")]
    public static partial void Partitioned(ILogger logger, int partition, int countA, int countB);

    [LoggerMessage(EventId = 2203, Level = LogLevel.Information, Message = "Memory network healed: {Partitions} partitions and {Isolated} isolated endpoints removed")]
    public static partial void Healed(ILogger logger, int partitions, int isolated);

    [LoggerMessage(EventId = 2204, Level = LogLevel.Information, Message = "Memory network: {Peer} disconnected from everyone")]
    public static partial void Disconnected(ILogger logger, PeerEndpoint peer);

    [LoggerMessage(EventId = 2205, Level = LogLevel.Information, Message = "Memory network: {Peer} reconnected")]
    public static partial void Reconnected(ILogger logger, PeerEndpoint peer);

    [LoggerMessage(EventId = 2206, Level = LogLevel.Debug, Message = "Memory network: stream {From} -> {To} lost: {Reason}")]
    public static partial void ConnectionLost(ILogger logger, PeerEndpoint from, PeerEndpoint to, string reason);

    [LoggerMessage(EventId = 2207, Level = LogLevel.Error,
        Message = "Memory network: the handler of {Peer} threw on a {Kind} from {Source} ({Suppressed} similar lines suppressed)")]
    public static partial void HandlerFailed(ILogger logger, Exception exception, PeerEndpoint peer, string kind, PeerEndpoint source, long suppressed);
}
