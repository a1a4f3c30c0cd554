using Engine.Membership;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Discovery;

/// <summary>Log lines of discovery (event ids 3000-3099). Peers are named "pkiid-prefix@endpoint".</summary>
internal static partial class DiscoveryLog
{
    [LoggerMessage(EventId = 3000, Level = LogLevel.Information,
        Message = "Discovery started on {Local} as {Self} of {Org} (incarnation {Incarnation}): alive every {AliveInterval}, dead after {Expiry} of silence, {BootstrapCount} bootstrap peer(s), {Strategy} heartbeats")]
    public static partial void Started(ILogger logger, PeerEndpoint local, string self, string org, ulong incarnation, TimeSpan aliveInterval, TimeSpan expiry, int bootstrapCount, string strategy);

    [LoggerMessage(EventId = 3001, Level = LogLevel.Information,
        Message = "{Local}: membership view changed: {Sign}{Peer} ({State}); {AliveCount} alive, {DeadCount} dead")]
    public static partial void ViewChanged(ILogger logger, PeerEndpoint local, char sign, Member peer, string state, int aliveCount, int deadCount);

    [LoggerMessage(EventId = 3002, Level = LogLevel.Warning,
        Message = "{Local}: {Peer} is dead: silent for {Silence} (expiry {Expiry})")]
    public static partial void PeerDead(ILogger logger, PeerEndpoint local, Member peer, TimeSpan silence, TimeSpan expiry);

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information,
        Message = "{Local}: {Peer} restarted: incarnation {NewIncarnation} replaces the one seen before")]
    public static partial void PeerRestarted(ILogger logger, PeerEndpoint local, Member peer, ulong newIncarnation);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Information,
        Message = "{Local}: {Peer} purged: dead and unheard of for {Retention}")]
    public static partial void PeerPurged(ILogger logger, PeerEndpoint local, Member peer, TimeSpan retention);

    [LoggerMessage(EventId = 3005, Level = LogLevel.Warning,
        Message = "{Local}: bootstrap peer {Bootstrap} is not reachable: {Reason} (attempt {Attempt} of {MaxAttempts}, retrying every {Interval}; {Suppressed} similar lines suppressed)")]
    public static partial void BootstrapUnreachable(ILogger logger, PeerEndpoint local, PeerEndpoint bootstrap, string reason, int attempt, int maxAttempts, TimeSpan interval, long suppressed);

    [LoggerMessage(EventId = 3006, Level = LogLevel.Information,
        Message = "{Local}: bootstrap peer {Bootstrap} answered after {Attempts} attempt(s): {AliveCount} alive and {DeadCount} dead members")]
    public static partial void BootstrapAnswered(ILogger logger, PeerEndpoint local, PeerEndpoint bootstrap, int attempts, int aliveCount, int deadCount);

    [LoggerMessage(EventId = 3007, Level = LogLevel.Error,
        Message = "{Local}: gave up on bootstrap peer {Bootstrap} after {Attempts} attempts (MaxConnectionAttempts); it is no longer contacted unless it appears in the membership")]
    public static partial void BootstrapGaveUp(ILogger logger, PeerEndpoint local, PeerEndpoint bootstrap, int attempts);

    [LoggerMessage(EventId = 3008, Level = LogLevel.Warning,
        Message = "{Local} dropped {What} from {Peer}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void BadInput(ILogger logger, PeerEndpoint local, string what, PeerEndpoint peer, string reason, long suppressed);

    [LoggerMessage(EventId = 3009, Level = LogLevel.Warning,
        Message = "{Local}: the membership table refused news of a peer from {Peer} (PKI-ID of {PkiIdLength} bytes, org '{Org}', {Members} members held; {Suppressed} similar lines suppressed)")]
    public static partial void Rejected(ILogger logger, PeerEndpoint local, PeerEndpoint peer, int pkiIdLength, string org, int members, long suppressed);

    [LoggerMessage(EventId = 3010, Level = LogLevel.Debug,
        Message = "{Local}: membership request to {Peer} not sent: {Status}")]
    public static partial void RequestNotSent(ILogger logger, PeerEndpoint local, PeerEndpoint peer, SendStatus status);

    [LoggerMessage(EventId = 3011, Level = LogLevel.Information,
        Message = "Discovery on {Local} stopped: sent {AliveSent} alive, forwarded {AliveForwarded}, received {AliveReceived} ({AliveStale} stale); {AliveCount} alive and {DeadCount} dead members")]
    public static partial void Stopped(ILogger logger, PeerEndpoint local, long aliveSent, long aliveForwarded, long aliveReceived, long aliveStale, int aliveCount, int deadCount);

    [LoggerMessage(EventId = 3012, Level = LogLevel.Debug,
        Message = "{Local}: membership response to {Peer}: {Members} members in {Frames} frame(s)")]
    public static partial void ResponseSent(ILogger logger, PeerEndpoint local, PeerEndpoint peer, int members, int frames);

    [LoggerMessage(EventId = 3013, Level = LogLevel.Debug,
        Message = "{Local}: re-probing {Count} dead member(s)")]
    public static partial void ReprobingDead(ILogger logger, PeerEndpoint local, int count);

    [LoggerMessage(EventId = 3014, Level = LogLevel.Warning,
        Message = "{Local}: a membership response for {Peer} does not fit a frame of {MaxFrame} bytes even with one member; {Skipped} member(s) left out")]
    public static partial void MemberTooLarge(ILogger logger, PeerEndpoint local, PeerEndpoint peer, int maxFrame, int skipped);

    [LoggerMessage(EventId = 3015, Level = LogLevel.Error,
        Message = "{Local}: a discovery timer failed; it runs again at its next period")]
    public static partial void TimerFailed(ILogger logger, Exception exception, PeerEndpoint local);

    [LoggerMessage(EventId = 3030, Level = LogLevel.Warning,
        Message = "Peer {Self}: bootstrap peer {Peer} is of {PeerOrg}, not of this peer's org {Org}: refused (bootstrap peers must be of the peer's own org; other orgs are reached through anchor peers)")]
    public static partial void BootstrapOtherOrg(ILogger logger, PeerEndpoint self, PeerEndpoint peer, string peerOrg, string org);

    [LoggerMessage(EventId = 3031, Level = LogLevel.Information, Message = "Peer {Self}: contacting anchor peer {Anchor} of {Org}")]
    public static partial void ContactingAnchor(ILogger logger, PeerEndpoint self, PeerEndpoint anchor, string org);

    [LoggerMessage(EventId = 3032, Level = LogLevel.Information, Message = "Peer {Self}: anchor peer {Anchor} of {Org} answered (attempt {Attempts}): its org's peers are learned through it")]
    public static partial void AnchorAnswered(ILogger logger, PeerEndpoint self, PeerEndpoint anchor, string org, int attempts);
}
