using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Channels;

/// <summary>Log lines of the channel layer (event ids 6300-6349).</summary>
internal static partial class ChannelLog
{
    [LoggerMessage(EventId = 6300, Level = LogLevel.Information, Message = "Peer {Peer} joined the gossip of channel {Channel} (orderer {Orderer}); org {Org}, election {Mode}")]
    public static partial void Joined(ILogger logger, string peer, string channel, PeerEndpoint orderer, string org, string mode);

    [LoggerMessage(EventId = 6301, Level = LogLevel.Information, Message = "Peer {Peer}: {Endpoint} of {Org} is a member of channel {Channel} (ledger height {Height})")]
    public static partial void MemberJoined(ILogger logger, string peer, string channel, PeerEndpoint endpoint, string org, ulong height);

    [LoggerMessage(EventId = 6302, Level = LogLevel.Information, Message = "Peer {Peer} leads its org in {Channel}: opening the delivery stream to the orderer {Orderer} from block {Height}")]
    public static partial void OpeningDelivery(ILogger logger, string peer, string channel, PeerEndpoint orderer, ulong height);

    [LoggerMessage(EventId = 6303, Level = LogLevel.Information, Message = "Peer {Peer} no longer leads its org in {Channel}: closing the delivery stream to the orderer {Orderer}")]
    public static partial void ClosingDelivery(ILogger logger, string peer, string channel, PeerEndpoint orderer);

    [LoggerMessage(EventId = 6304, Level = LogLevel.Error, Message = "Peer {Peer}: a timer of channel {Channel} failed; it runs again at its next tick")]
    public static partial void TimerFailed(ILogger logger, Exception exception, string peer, string channel);

    [LoggerMessage(EventId = 6305, Level = LogLevel.Warning, Message = "Peer {Peer}: dropped {What} from {Source}: {Reason} ({Suppressed} more suppressed)")]
    public static partial void Dropped(ILogger logger, string peer, string what, PeerEndpoint source, string reason, long suppressed);

    [LoggerMessage(EventId = 6306, Level = LogLevel.Error, Message = "Peer {Peer}: a BlockCommitted subscriber threw on block {Number} of {Channel}; the ledger carries on")]
    public static partial void SubscriberFailed(ILogger logger, Exception exception, string peer, ulong number, string channel);

    [LoggerMessage(EventId = 6307, Level = LogLevel.Information,
        Message = "Peer {Peer}: {Channel}: ledger height {Height}, peers at {PeersHeight}: requesting blocks {Start}-{End} from {Target}{Retry}")]
    public static partial void RequestingBlocks(ILogger logger, string peer, string channel, ulong height, ulong peersHeight, ulong start, ulong end, PeerEndpoint target, string retry);

    [LoggerMessage(EventId = 6308, Level = LogLevel.Information, Message = "Peer {Peer}: {Channel}: caught up to height {Height} (from height {From} in {Elapsed} ms)")]
    public static partial void CaughtUp(ILogger logger, string peer, string channel, ulong height, ulong from, long elapsed);

    [LoggerMessage(EventId = 6309, Level = LogLevel.Warning, Message = "Peer {Peer}: {Channel}: catching up stopped at height {Height} (peers at {PeersHeight}): {Reason}; the next check comes in {Interval}")]
    public static partial void CatchUpStopped(ILogger logger, string peer, string channel, ulong height, ulong peersHeight, string reason, TimeSpan interval);

    [LoggerMessage(EventId = 6310, Level = LogLevel.Warning,
        Message = "Peer {Peer}: {Channel}: refused a state response from {Source}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void ResponseRefused(ILogger logger, string peer, string channel, PeerEndpoint source, string reason, long suppressed);

    [LoggerMessage(EventId = 6311, Level = LogLevel.Warning,
        Message = "Peer {Peer}: {Channel}: refused a state request from {Source}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void RequestRefused(ILogger logger, string peer, string channel, PeerEndpoint source, string reason, long suppressed);

    [LoggerMessage(EventId = 6312, Level = LogLevel.Debug, Message = "Peer {Peer}: {Channel}: asking {Target} for blocks {Start}-{End} (a gap below block {Received})")]
    public static partial void RequestingGap(ILogger logger, string peer, string channel, PeerEndpoint target, ulong start, ulong end, ulong received);

    [LoggerMessage(EventId = 6313, Level = LogLevel.Information, Message = "Peer {Peer}: {Channel}: no answer from {Target} for blocks {Start}-{End} within {Timeout}; asking another peer")]
    public static partial void ResponseTimedOut(ILogger logger, string peer, string channel, PeerEndpoint target, ulong start, ulong end, TimeSpan timeout);

    [LoggerMessage(EventId = 6314, Level = LogLevel.Debug, Message = "Peer {Peer}: ignored {What} of channel {Channel} from {Source}: this peer has not joined that channel")]
    public static partial void NotJoined(ILogger logger, string peer, string what, string channel, PeerEndpoint source);
}
