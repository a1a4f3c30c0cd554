using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Ordering;

/// <summary>Log lines of the orderer process (event ids 9200-9299).</summary>
internal static partial class OrdererLog
{
    [LoggerMessage(EventId = 9200, Level = LogLevel.Information, Message = "Orderer {OrdererId} starting: listening on {Listen}, {Channels} channel(s)")]
    public static partial void Starting(ILogger logger, string ordererId, PeerEndpoint listen, int channels);

    [LoggerMessage(EventId = 9201, Level = LogLevel.Information,
        Message = "Orderer {OrdererId} serves channel {Channel} on {Endpoint} (orgs {Orgs}), cutting {Cutting}; peers join it with peer.channels: {Channel}@{Endpoint}")]
    public static partial void ChannelServed(ILogger logger, string ordererId, string channel, PeerEndpoint endpoint, string orgs, string cutting);

    [LoggerMessage(EventId = 9202, Level = LogLevel.Information, Message = "Orderer {OrdererId} started in {ElapsedMs} ms: delivery service on {Endpoint}")]
    public static partial void Started(ILogger logger, string ordererId, long elapsedMs, PeerEndpoint endpoint);

    [LoggerMessage(EventId = 9203, Level = LogLevel.Information, Message = "Orderer {OrdererId} stopping: {Reason}")]
    public static partial void Stopping(ILogger logger, string ordererId, string reason);

    [LoggerMessage(EventId = 9204, Level = LogLevel.Information,
        Message = "Orderer {OrdererId} stopped after {Uptime}: heights {Heights}; blocksCut={BlocksCut}, deliveries={Deliveries}, sendFailures={SendFailures}, streamsOpened={StreamsOpened}, refused={Refused}")]
    public static partial void Stopped(ILogger logger, string ordererId, string uptime, string heights, long blocksCut, long deliveries, long sendFailures, long streamsOpened, long refused);

    [LoggerMessage(EventId = 9205, Level = LogLevel.Error, Message = "Orderer {OrdererId} could not start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string ordererId, string reason);

    [LoggerMessage(EventId = 9206, Level = LogLevel.Information, Message = "Orderer {OrdererId}: admin request cut block {Number} of {Channel} ({Bytes} bytes)")]
    public static partial void CutOnDemand(ILogger logger, string ordererId, ulong number, string channel, int bytes);

    [LoggerMessage(EventId = 9207, Level = LogLevel.Information, Message = "Orderer {OrdererId}: admin request set the anchor peers of {Org} in {Channel} to [{Anchors}] (config block {Number})")]
    public static partial void AnchorsUpdated(ILogger logger, string ordererId, string org, string channel, string anchors, ulong number);
}
