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
}
