using Microsoft.Extensions.Logging;

namespace Engine.Election;

/// <summary>Log lines of leader election (event ids 6000-6099). Peers are named as the node names them (endpoint or name).</summary>
internal static partial class ElectionLog
{
    [LoggerMessage(EventId = 6000, Level = LogLevel.Information,
        Message = "Election of {Org} in {Channel} started at peer {Peer} (dynamic): waiting up to {GracePeriod} for a stable view, sampled every {SampleInterval}")]
    public static partial void Started(ILogger logger, string peer, string org, string channel, TimeSpan gracePeriod, TimeSpan sampleInterval);

    [LoggerMessage(EventId = 6001, Level = LogLevel.Information, Message = "peer {Peer} elected leader of {Org} in {Channel}")]
    public static partial void Elected(ILogger logger, string peer, string org, string channel);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Information, Message = "peer {Peer} stepped down as leader of {Org} in {Channel}: {Reason}")]
    public static partial void SteppedDown(ILogger logger, string peer, string org, string channel, string reason);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Information, Message = "peer {Peer} is the static leader of {Org} in {Channel} (orgLeader = true, election off)")]
    public static partial void StaticLeader(ILogger logger, string peer, string org, string channel);

    [LoggerMessage(EventId = 6004, Level = LogLevel.Information, Message = "peer {Peer} is a static follower in {Org} in {Channel} (election off, orgLeader = false): it never leads")]
    public static partial void StaticFollower(ILogger logger, string peer, string org, string channel);

    [LoggerMessage(EventId = 6005, Level = LogLevel.Error, Message = "Election of {Org} in {Channel} at peer {Peer} refused to start: {Error}")]
    public static partial void ConfigurationError(ILogger logger, string peer, string org, string channel, string error);

    [LoggerMessage(EventId = 6006, Level = LogLevel.Debug, Message = "Election of {Org} in {Channel}: view stable at peer {Peer} with {Peers} peers ({Reason})")]
    public static partial void Stabilized(ILogger logger, string peer, string org, string channel, int peers, string reason);

    [LoggerMessage(EventId = 6007, Level = LogLevel.Debug, Message = "Election of {Org} in {Channel}: peer {Peer} proposes itself ({Peers} peers in view)")]
    public static partial void Proposing(ILogger logger, string peer, string org, string channel, int peers);

    [LoggerMessage(EventId = 6008, Level = LogLevel.Debug, Message = "Election of {Org} in {Channel}: peer {Peer} does not lead: {Reason}")]
    public static partial void NotElected(ILogger logger, string peer, string org, string channel, string reason);

    [LoggerMessage(EventId = 6009, Level = LogLevel.Information, Message = "peer {Peer} yields leadership of {Org} in {Channel} for at most {Duration} (or until a new leader declares)")]
    public static partial void Yielding(ILogger logger, string peer, string org, string channel, TimeSpan duration);

    [LoggerMessage(EventId = 6010, Level = LogLevel.Debug, Message = "peer {Peer} stopped yielding in {Org} in {Channel}: {Reason}")]
    public static partial void StoppedYielding(ILogger logger, string peer, string org, string channel, string reason);

    [LoggerMessage(EventId = 6011, Level = LogLevel.Debug,
        Message = "Election of {Org} in {Channel} at peer {Peer} ignored a leadership message: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void Ignored(ILogger logger, string peer, string org, string channel, string reason, long suppressed);

    [LoggerMessage(EventId = 6012, Level = LogLevel.Information, Message = "Election of {Org} in {Channel}: no leader declared for {Threshold}, peer {Peer} starts an election")]
    public static partial void LeaderSilent(ILogger logger, string peer, string org, string channel, TimeSpan threshold);

    [LoggerMessage(EventId = 6013, Level = LogLevel.Information, Message = "Election of {Org} in {Channel} stopped at peer {Peer} (was leader: {WasLeader})")]
    public static partial void Stopped(ILogger logger, string peer, string org, string channel, bool wasLeader);
}
