using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Hosting;

/// <summary>Log lines of the peer process (event ids 9000-9099).</summary>
internal static partial class PeerLog
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Information,
        Message = "Peer {PeerId} of org {Org} starting: endpoint {Endpoint}, listening on {Listen}, bootstrap [{Bootstrap}], config from {Sources}")]
    public static partial void Starting(ILogger logger, string peerId, string org, PeerEndpoint endpoint, PeerEndpoint listen, string bootstrap, string sources);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Information,
        Message = "Peer {PeerId} started in {ElapsedMs} ms: endpoint {Endpoint}, PKI-ID {PkiId}")]
    public static partial void Started(ILogger logger, string peerId, long elapsedMs, string endpoint, string pkiId);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information, Message = "Peer {PeerId} stopping: {Reason}")]
    public static partial void Stopping(ILogger logger, string peerId, string reason);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Information,
        Message = "Peer {PeerId} stopped after {Uptime}: {Alive} alive and {Dead} dead members in view; {Counters}")]
    public static partial void Stopped(ILogger logger, string peerId, string uptime, int alive, int dead, string counters);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Error, Message = "Peer {PeerId} could not start: {Reason}")]
    public static partial void StartFailed(ILogger logger, string peerId, string reason);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning,
        Message = "Config key {Key} is set (from {Source}) but has no effect yet: {Why}")]
    public static partial void NotInEffect(ILogger logger, string key, string source, string why);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Debug, Message = "Config {Key} = {Value} (from {Source})")]
    public static partial void ConfigValue(ILogger logger, string key, string value, string source);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Error, Message = "Peer {PeerId} failed while stopping")]
    public static partial void StopFailed(ILogger logger, string peerId, Exception exception);

    [LoggerMessage(EventId = 9008, Level = LogLevel.Information,
        Message = "Peer {PeerId} joining channel {Channel}: fetching its genesis block from the orderer {Orderer}")]
    public static partial void FetchingGenesis(ILogger logger, string peerId, string channel, PeerEndpoint orderer);

    [LoggerMessage(EventId = 9009, Level = LogLevel.Information,
        Message = "Peer {PeerId} joined channel {Channel} (orderer {Orderer}): genesis block fetched and committed in {ElapsedMs} ms")]
    public static partial void JoinedChannel(ILogger logger, string peerId, string channel, PeerEndpoint orderer, long elapsedMs);

    [LoggerMessage(EventId = 9010, Level = LogLevel.Error,
        Message = "Peer {PeerId} could not join channel {Channel} (orderer {Orderer}, from peer.channels): {Reason}")]
    public static partial void JoinFailed(ILogger logger, string peerId, string channel, PeerEndpoint orderer, string reason);
}
