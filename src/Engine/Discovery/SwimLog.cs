using Engine.Membership;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Discovery;

/// <summary>Log lines of the SWIM-style strategy (event ids 3050-3069).</summary>
internal static partial class SwimLog
{
    [LoggerMessage(EventId = 3050, Level = LogLevel.Information,
        Message = "{Local}: {Peer} is suspected ({Reason}); dead unless it refutes within {Timeout}")]
    public static partial void Suspected(ILogger logger, PeerEndpoint local, Member peer, string reason, TimeSpan timeout);

    [LoggerMessage(EventId = 3051, Level = LogLevel.Information,
        Message = "{Local}: suspicion of {Peer} confirmed after {Timeout} and {Pings} unanswered ping(s): declared dead")]
    public static partial void Confirmed(ILogger logger, PeerEndpoint local, Member peer, TimeSpan timeout, int pings);

    [LoggerMessage(EventId = 3052, Level = LogLevel.Information,
        Message = "{Local}: refuting a suspicion of this peer ({State} at seq {Seq}): now at seq {NewSeq}")]
    public static partial void Refuted(ILogger logger, PeerEndpoint local, MemberState state, ulong seq, ulong newSeq);

    [LoggerMessage(EventId = 3053, Level = LogLevel.Debug,
        Message = "{Local}: no direct ack from {Peer} within {Timeout}; asked {Count} peer(s) to probe it")]
    public static partial void IndirectProbe(ILogger logger, PeerEndpoint local, Member peer, TimeSpan timeout, int count);

    [LoggerMessage(EventId = 3054, Level = LogLevel.Debug,
        Message = "{Local}: suspicion of {Peer} ran out unrefuted; direct ping {Attempt} before declaring it dead (answer within {Wait})")]
    public static partial void ConfirmingSuspicion(ILogger logger, PeerEndpoint local, Member peer, int attempt, TimeSpan wait);
}
