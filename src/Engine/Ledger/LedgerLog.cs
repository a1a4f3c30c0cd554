using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Ledger;

/// <summary>Log lines of the channel ledger (event ids 6100-6199).</summary>
internal static partial class LedgerLog
{
    [LoggerMessage(EventId = 6100, Level = LogLevel.Information, Message = "Peer {Peer} joined channel {Channel}: genesis block committed, height 1, orgs {Orgs}")]
    public static partial void Joined(ILogger logger, string peer, string channel, string orgs);

    [LoggerMessage(EventId = 6101, Level = LogLevel.Error, Message = "Peer {Peer} cannot join a channel: the genesis block is invalid: {Reason}")]
    public static partial void GenesisRefused(ILogger logger, string peer, string reason);

    [LoggerMessage(EventId = 6102, Level = LogLevel.Debug, Message = "Peer {Peer} committed block {Number} of {Channel} ({Bytes} bytes), height {Height}")]
    public static partial void Committed(ILogger logger, string peer, ulong number, string channel, int bytes, ulong height);

    [LoggerMessage(EventId = 6103, Level = LogLevel.Information, Message = "Peer {Peer} committed config block {Number} of {Channel}: {Config}")]
    public static partial void ConfigCommitted(ILogger logger, string peer, ulong number, string channel, string config);

    [LoggerMessage(EventId = 6104, Level = LogLevel.Information, Message = "anchor peers of {Org} in {Channel}: {Anchors}")]
    public static partial void Anchors(ILogger logger, string org, string channel, string anchors);

    [LoggerMessage(EventId = 6105, Level = LogLevel.Information, Message = "no anchor peers configured for {Org} in {Channel}")]
    public static partial void NoAnchors(ILogger logger, string org, string channel);

    [LoggerMessage(EventId = 6106, Level = LogLevel.Warning,
        Message = "Peer {Peer} refused block {Number} of {Channel} from {Source}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void Refused(ILogger logger, string peer, ulong number, string channel, PeerEndpoint source, string reason, long suppressed);

    [LoggerMessage(EventId = 6108, Level = LogLevel.Information, Message = "Peer {Peer} pre-touched {Chunks} ledger chunks ({Bytes} bytes) for {Channel} in {Milliseconds} ms")]
    public static partial void Pretouched(ILogger logger, string peer, int chunks, long bytes, string channel, long milliseconds);

    [LoggerMessage(EventId = 6107, Level = LogLevel.Warning,
        Message = "Peer {Peer} dropped a malformed block for {Channel} from {Source}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void Malformed(ILogger logger, string peer, string channel, PeerEndpoint source, string reason, long suppressed);
}
