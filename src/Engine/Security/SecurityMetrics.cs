using System.Diagnostics.Metrics;

namespace Engine.Security;

/// <summary>Security instruments (meter "Engine.Security"). Tags are low-cardinality (a result or reason), never a peer.</summary>
internal static class SecurityMetrics
{
    public const string MeterName = "Engine.Security";

    private static readonly Meter Meter = new(MeterName, "1.0");

    public static readonly Counter<long> Signatures = Meter.CreateCounter<long>("engine.security.signatures", "{signature}", "Messages signed by this process.");

    public static readonly Counter<long> Verifications = Meter.CreateCounter<long>("engine.security.verifications", "{message}",
        "Signed messages checked (tag: result = verified, cached, forged, unsigned, unknown_identity, bad_identity, expired_identity, malformed, not_member, org_mismatch, foreign_bootstrap).");

    public static readonly Counter<long> IdentitiesRefused = Meter.CreateCounter<long>("engine.security.identities.refused", "{identity}",
        "Presented identities the trust store refused (tag: reason = a CertificateVerdict).");

    // Tags built once: adding to a counter allocates nothing.
    public static readonly KeyValuePair<string, object?> Verified = new("result", "verified");
    public static readonly KeyValuePair<string, object?> Cached = new("result", "cached");
    public static readonly KeyValuePair<string, object?> Forged = new("result", "forged");
    public static readonly KeyValuePair<string, object?> Unsigned = new("result", "unsigned");
    public static readonly KeyValuePair<string, object?> UnknownIdentity = new("result", "unknown_identity");
    public static readonly KeyValuePair<string, object?> BadIdentity = new("result", "bad_identity");
    public static readonly KeyValuePair<string, object?> ExpiredIdentity = new("result", "expired_identity");
    public static readonly KeyValuePair<string, object?> Malformed = new("result", "malformed");
    public static readonly KeyValuePair<string, object?> NotMember = new("result", "not_member");
    public static readonly KeyValuePair<string, object?> OrgMismatch = new("result", "org_mismatch");
    public static readonly KeyValuePair<string, object?> ForeignBootstrap = new("result", "foreign_bootstrap");

    public static KeyValuePair<string, object?> Reason(CertificateVerdict verdict) => new("reason", verdict.ToString());
}
