using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Ordering;

/// <summary>Log lines of the orderer and the delivery client (event ids 6200-6299).</summary>
internal static partial class OrderingLog
{
    [LoggerMessage(EventId = 6200, Level = LogLevel.Information, Message = "Orderer {Orderer} created channel {Channel} with orgs {Orgs}")]
    public static partial void ChannelCreated(ILogger logger, PeerEndpoint orderer, string channel, string orgs);

    [LoggerMessage(EventId = 6201, Level = LogLevel.Debug, Message = "Orderer {Orderer} cut block {Number} of {Channel} ({Bytes} bytes), delivered on {Streams} streams")]
    public static partial void BlockCut(ILogger logger, PeerEndpoint orderer, ulong number, string channel, int bytes, int streams);

    [LoggerMessage(EventId = 6202, Level = LogLevel.Information, Message = "Orderer {Orderer} cut config block {Number} of {Channel}: {Config}")]
    public static partial void ConfigCut(ILogger logger, PeerEndpoint orderer, ulong number, string channel, string config);

    [LoggerMessage(EventId = 6203, Level = LogLevel.Information, Message = "Orderer {Orderer}: {Peer} ({Org}) opened a delivery stream of {Channel} from block {Start}")]
    public static partial void StreamOpened(ILogger logger, PeerEndpoint orderer, PeerEndpoint peer, string org, string channel, ulong start);

    [LoggerMessage(EventId = 6204, Level = LogLevel.Information, Message = "Orderer {Orderer}: {Peer} ({Org}) closed its delivery stream of {Channel} ({Reason})")]
    public static partial void StreamClosed(ILogger logger, PeerEndpoint orderer, PeerEndpoint peer, string org, string channel, string reason);

    [LoggerMessage(EventId = 6205, Level = LogLevel.Warning, Message = "Orderer {Orderer} refused a delivery stream of {Channel} from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void StreamRefused(ILogger logger, PeerEndpoint orderer, string channel, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 6206, Level = LogLevel.Warning, Message = "Orderer {Orderer} dropped a frame from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void Dropped(ILogger logger, PeerEndpoint orderer, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 6207, Level = LogLevel.Debug, Message = "Orderer {Orderer} could not send block {Number} of {Channel} to {Peer}: {Status}; retrying ({Suppressed} similar lines suppressed)")]
    public static partial void SendFailed(ILogger logger, PeerEndpoint orderer, ulong number, string channel, PeerEndpoint peer, SendStatus status, long suppressed);

    [LoggerMessage(EventId = 6210, Level = LogLevel.Information, Message = "Peer {Peer} opened its delivery stream of {Channel} to the orderer {Orderer} from block {Start}")]
    public static partial void ClientOpened(ILogger logger, string peer, string channel, PeerEndpoint orderer, ulong start);

    [LoggerMessage(EventId = 6211, Level = LogLevel.Information, Message = "Peer {Peer} closed its delivery stream of {Channel} to the orderer {Orderer}")]
    public static partial void ClientClosed(ILogger logger, string peer, string channel, PeerEndpoint orderer);

    [LoggerMessage(EventId = 6212, Level = LogLevel.Warning, Message = "Peer {Peer}: the delivery stream of {Channel} to the orderer {Orderer} failed ({Reason}); reopening in {Delay} ({Suppressed} similar lines suppressed)")]
    public static partial void ClientRetry(ILogger logger, string peer, string channel, PeerEndpoint orderer, string reason, TimeSpan delay, long suppressed);

    [LoggerMessage(EventId = 6213, Level = LogLevel.Warning, Message = "Peer {Peer}: the orderer {Orderer} answered the delivery stream of {Channel} with {Code}: {Reason}")]
    public static partial void ClientStatus(ILogger logger, string peer, PeerEndpoint orderer, string channel, string code, string reason);
}
