using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Security;

/// <summary>Log lines of identities and signatures (event ids 9000-9099).</summary>
internal static partial class SecurityLog
{
    [LoggerMessage(EventId = 9000, Level = LogLevel.Warning,
        Message = "Refused a {Kind} message from {Source} claiming peer {PkiId}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void MessageRefused(ILogger logger, SignedKind kind, PeerEndpoint source, ShortPkiId pkiId, string reason, long suppressed);

    [LoggerMessage(EventId = 9001, Level = LogLevel.Warning,
        Message = "Refused an identity from {Source}: {Verdict}: {Reason} ({Suppressed} similar lines suppressed)")]
    public static partial void IdentityRefused(ILogger logger, PeerEndpoint source, CertificateVerdict verdict, string? reason, long suppressed);

    [LoggerMessage(EventId = 9002, Level = LogLevel.Information,
        Message = "Learned the identity of peer {PkiId} (org {Org}, '{Subject}') from {Source}")]
    public static partial void IdentityLearned(ILogger logger, ShortPkiId pkiId, string org, string subject, PeerEndpoint source);

    [LoggerMessage(EventId = 9003, Level = LogLevel.Debug,
        Message = "No identity for peer {PkiId} (a {Kind} message from {Source}): it must be pulled first ({Suppressed} similar lines suppressed)")]
    public static partial void UnknownIdentity(ILogger logger, ShortPkiId pkiId, SignedKind kind, PeerEndpoint source, long suppressed);

    [LoggerMessage(EventId = 9004, Level = LogLevel.Warning,
        Message = "Refused a {Kind} message from {Source} signed by peer {PkiId}: its org is not among {Orgs}")]
    public static partial void NotMember(ILogger logger, SignedKind kind, PeerEndpoint source, ShortPkiId pkiId, string orgs);

    [LoggerMessage(EventId = 9005, Level = LogLevel.Warning,
        Message = "Refused an alive message from {Source} of peer {PkiId}: it names org {Claimed} but is signed by an identity of org {Actual}")]
    public static partial void OrgMismatch(ILogger logger, PeerEndpoint source, ShortPkiId pkiId, string claimed, string actual);

    [LoggerMessage(EventId = 9006, Level = LogLevel.Warning,
        Message = "Refused a membership response from bootstrap peer {Source}: it is of org {Org}, not this peer's org {Own}")]
    public static partial void ForeignBootstrap(ILogger logger, PeerEndpoint source, string org, string own);

    [LoggerMessage(EventId = 9007, Level = LogLevel.Information,
        Message = "Learned the identity of peer {PkiId} (org {Org}) by identity pull from {Source}")]
    public static partial void IdentityPulled(ILogger logger, ShortPkiId pkiId, string org, PeerEndpoint source);

    [LoggerMessage(EventId = 9008, Level = LogLevel.Warning,
        Message = "Refused an identity pulled from {Source}: {Reason}")]
    public static partial void PulledIdentityRefused(ILogger logger, PeerEndpoint source, string reason);
}

/// <summary>A PKI-ID as a log argument: its first 8 bytes in hex, formatted only when the line is written.</summary>
internal readonly struct ShortPkiId(PkiId id)
{
    public override string ToString() => id.IsEmpty ? "(none)" : id.ToShortString();
}
