using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Gossip;

/// <summary>Log lines of dissemination: push, store and pull (event ids 4000-4099).</summary>
internal static partial class GossipLog
{
    [LoggerMessage(EventId = 4000, Level = LogLevel.Trace, Message = "Gossip {Local} accepted a new {Kind} message ({IncNum}, {SeqNum}) from {Peer} and forwards it")]
    public static partial void Accepted(ILogger logger, PeerEndpoint local, MessageKind kind, ulong incNum, ulong seqNum, PeerEndpoint peer);

    [LoggerMessage(EventId = 4001, Level = LogLevel.Warning,
        Message = "Gossip {Local} dropped a message from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void MessageDropped(ILogger logger, PeerEndpoint local, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 4002, Level = LogLevel.Trace,
        Message = "Gossip {Local} flushed {Messages} messages ({Trigger}): {Copies} copies in {Datagrams} datagrams and {Frames} frames")]
    public static partial void Flushed(ILogger logger, PeerEndpoint local, int messages, string trigger, int copies, int datagrams, int frames);

    [LoggerMessage(EventId = 4003, Level = LogLevel.Warning,
        Message = "Gossip {Local} push emitter is full ({PendingBytes} bytes pending): dropped a message of {Size} bytes ({Suppressed} similar lines suppressed)")]
    public static partial void EmitterFull(ILogger logger, PeerEndpoint local, int pendingBytes, int size, long suppressed);

    [LoggerMessage(EventId = 4004, Level = LogLevel.Debug,
        Message = "Gossip {Local} found no peer to push a message to (org {Org}) ({Suppressed} similar lines suppressed)")]
    public static partial void NoPeers(ILogger logger, PeerEndpoint local, string org, long suppressed);

    [LoggerMessage(EventId = 4005, Level = LogLevel.Debug,
        Message = "Gossip {Local} could not push to {Peer}: {Status} ({Suppressed} similar lines suppressed)")]
    public static partial void SendFailed(ILogger logger, PeerEndpoint local, PeerEndpoint peer, SendStatus status, long suppressed);

    [LoggerMessage(EventId = 4010, Level = LogLevel.Debug,
        Message = "Pull {Local} ({Kind}) round started: hello to {Peers} peers")]
    public static partial void RoundStarted(ILogger logger, PeerEndpoint local, PullMsgType kind, int peers);

    [LoggerMessage(EventId = 4011, Level = LogLevel.Debug,
        Message = "Pull {Local} ({Kind}) digests collected from {Digests} of {Hellos} peers: {Missing} items missing, requested from {Holders} holders")]
    public static partial void Requesting(ILogger logger, PeerEndpoint local, PullMsgType kind, int digests, int hellos, int missing, int holders);

    [LoggerMessage(EventId = 4012, Level = LogLevel.Debug,
        Message = "Pull {Local} ({Kind}) round finished: {Received} of {Requested} requested items received")]
    public static partial void RoundFinished(ILogger logger, PeerEndpoint local, PullMsgType kind, int received, int requested);

    [LoggerMessage(EventId = 4013, Level = LogLevel.Warning,
        Message = "Pull {Local} ({Kind}) dropped a {Message} from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void PullDropped(ILogger logger, PeerEndpoint local, PullMsgType kind, string message, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 4014, Level = LogLevel.Debug,
        Message = "Pull {Local} ({Kind}) answered a request of {Peer}: {Items} items in {Updates} updates ({Missing} no longer held or not shown)")]
    public static partial void Answered(ILogger logger, PeerEndpoint local, PullMsgType kind, PeerEndpoint peer, int items, int updates, int missing);

    [LoggerMessage(EventId = 4015, Level = LogLevel.Debug,
        Message = "Pull {Local} ({Kind}) could not send a {Message} to {Peer}: {Status} ({Suppressed} similar lines suppressed)")]
    public static partial void PullSendFailed(ILogger logger, PeerEndpoint local, PullMsgType kind, string message, PeerEndpoint peer, SendStatus status, long suppressed);

    [LoggerMessage(EventId = 4020, Level = LogLevel.Warning,
        Message = "Lazy push {Local} refused input from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void LazyRefused(ILogger logger, PeerEndpoint local, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 4021, Level = LogLevel.Debug,
        Message = "Lazy push {Local} could not send a {Message} to {Peer}: {Status} ({Suppressed} similar lines suppressed)")]
    public static partial void LazySendFailed(ILogger logger, PeerEndpoint local, string message, PeerEndpoint peer, SendStatus status, long suppressed);
}
