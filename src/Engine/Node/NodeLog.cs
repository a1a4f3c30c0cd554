using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Node;

/// <summary>Log lines of the node (event ids 3100-3149).</summary>
internal static partial class NodeLog
{
    [LoggerMessage(EventId = 3100, Level = LogLevel.Information, Message = "Gossip node {PkiId} of {Org} started on {Endpoint}")]
    public static partial void Started(ILogger logger, string pkiId, string org, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 3101, Level = LogLevel.Information, Message = "Gossip node on {Endpoint} stopped")]
    public static partial void Stopped(ILogger logger, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 3102, Level = LogLevel.Error, Message = "Gossip node on {Endpoint}: a MembershipChanged subscriber threw; other subscribers and discovery carry on")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 3103, Level = LogLevel.Error, Message = "Gossip node on {Endpoint} failed to start")]
    public static partial void StartFailed(ILogger logger, Exception exception, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 3104, Level = LogLevel.Information,
        Message = "Gossip node on {Endpoint}: dissemination {Mode}: push to {PeerNum} peers x {Iterations} (announced to {LazyPeerNum} more), pull from {PullPeerNum} peers every {PullInterval}; store of {MaxEntries} messages / {MaxBytes} bytes; data up to {MaxData} bytes")]
    public static partial void DisseminationStarted(ILogger logger, PeerEndpoint endpoint, DisseminationMode mode, int peerNum, int iterations, int lazyPeerNum, TimeSpan pullInterval,
        int pullPeerNum, int maxEntries, long maxBytes, int maxData);

    [LoggerMessage(EventId = 3105, Level = LogLevel.Debug, Message = "Gossip node on {Endpoint} published message {Sequence} ({Bytes} bytes)")]
    public static partial void Published(ILogger logger, PeerEndpoint endpoint, ulong sequence, int bytes);

    [LoggerMessage(EventId = 3106, Level = LogLevel.Error, Message = "Gossip node on {Endpoint}: a MessageReceived subscriber threw on a message from {Source}; dissemination carries on")]
    public static partial void MessageSubscriberFailed(ILogger logger, Exception exception, PeerEndpoint endpoint, PeerEndpoint source);
}
