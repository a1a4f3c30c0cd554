using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;

namespace Engine.Security;

/// <summary>
/// The org CAs a peer trusts, and the check every presented peer certificate goes through: the claimed org is trusted,
/// the certificate names that org, is a peer certificate with an ECDSA P-256 key, is within its validity at the
/// <see cref="TimeProvider"/>'s now, and chains to exactly that org's CA (a certificate of Org2's CA claiming Org1 is
/// refused). Each refusal comes with a reason an operator can act on. Thread-safe for validation once built.
/// </summary>
public sealed class TrustStore
{
    private readonly Dictionary<string, X509Certificate2> _cas = new(StringComparer.Ordinal);
    private readonly TimeProvider _time;

    /// <summary>An empty store; add org CAs with <see cref="Add"/>.</summary>
    public TrustStore(TimeProvider? time = null) => _time = time ?? TimeProvider.System;

    /// <summary>The trusted org ids.</summary>
    public IReadOnlyCollection<string> Orgs => _cas.Keys;

    /// <summary>Trusts <paramref name="caCertificate"/> as the CA of <paramref name="orgId"/>. Not thread-safe: build, then share.</summary>
    public void Add(string orgId, X509Certificate2 caCertificate)
    {
        OrgCertificateAuthority.RequireOrgId(orgId);
        ArgumentNullException.ThrowIfNull(caCertificate);
        if (!CertificateNames.IsCertificateAuthority(caCertificate))
        {
            throw new ArgumentException($"'{caCertificate.Subject}' is not a CA certificate", nameof(caCertificate));
        }

        if (CertificateNames.Organization(caCertificate) != orgId)
        {
            throw new ArgumentException($"CA certificate '{caCertificate.Subject}' does not name org {orgId}", nameof(caCertificate));
        }

        _cas[orgId] = caCertificate;
    }

    /// <summary>True when <paramref name="orgId"/> is trusted.</summary>
    public bool Contains(string orgId) => _cas.ContainsKey(orgId);

    /// <summary>Checks that <paramref name="certificate"/> is a valid peer certificate of <paramref name="orgId"/>.</summary>
    /// <param name="orgId">The org the peer claims.</param>
    /// <param name="certificate">The presented certificate.</param>
    /// <param name="reason">Why it was refused (null when trusted).</param>
    public CertificateVerdict Validate(string orgId, X509Certificate2 certificate, out string? reason)
    {
        ArgumentNullException.ThrowIfNull(orgId);
        ArgumentNullException.ThrowIfNull(certificate);
        try
        {
            return ValidateCore(orgId, certificate, out reason);
        }
        catch (CryptographicException e)
        {
            // A certificate that loaded but has unreadable parts (a validity OpenSSL cannot represent, a broken extension ...).
            reason = $"certificate of {certificate.RawDataMemory.Length} bytes could not be read: {e.Message}";
            return CertificateVerdict.Malformed;
        }
        catch (System.Formats.Asn1.AsnContentException e)
        {
            reason = $"certificate of {certificate.RawDataMemory.Length} bytes could not be read: {e.Message}";
            return CertificateVerdict.Malformed;
        }
    }

    private CertificateVerdict ValidateCore(string orgId, X509Certificate2 certificate, out string? reason)
    {
        if (!_cas.TryGetValue(orgId, out var ca))
        {
            reason = $"org '{orgId}' is not trusted (trusted: {string.Join(", ", _cas.Keys.Order(StringComparer.Ordinal))})";
            return CertificateVerdict.UnknownOrg;
        }

        string? named = CertificateNames.Organization(certificate);
        if (named != orgId)
        {
            reason = $"certificate '{certificate.Subject}' names org '{named}', not the claimed '{orgId}'";
            return CertificateVerdict.OrgMismatch;
        }

        var now = _time.GetUtcNow();
        if (now < certificate.NotBefore.ToUniversalTime())
        {
            reason = $"certificate '{certificate.Subject}' is not valid before {certificate.NotBefore.ToUniversalTime():O} (now {now.UtcDateTime:O})";
            return CertificateVerdict.NotYetValid;
        }

        if (now > certificate.NotAfter.ToUniversalTime())
        {
            reason = $"certificate '{certificate.Subject}' expired at {certificate.NotAfter.ToUniversalTime():O} (now {now.UtcDateTime:O})";
            return CertificateVerdict.Expired;
        }

        if (CertificateNames.IsCertificateAuthority(certificate))
        {
            reason = $"certificate '{certificate.Subject}' is a CA certificate, not a peer's";
            return CertificateVerdict.NotAPeerCertificate;
        }

        if (!CertificateNames.HasP256Key(certificate))
        {
            reason = $"certificate '{certificate.Subject}' does not carry an ECDSA P-256 key";
            return CertificateVerdict.UnsupportedKey;
        }

        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.Add(ca);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        bool built;
        try
        {
            built = chain.Build(certificate);
        }
        catch (CryptographicException e)
        {
            reason = $"certificate '{certificate.Subject}' could not be checked against the CA of {orgId}: {e.Message}";
            return CertificateVerdict.Untrusted;
        }

        if (!built || chain.ChainElements.Count != 2 || !chain.ChainElements[1].Certificate.RawDataMemory.Span.SequenceEqual(ca.RawDataMemory.Span))
        {
            reason = $"certificate '{certificate.Subject}' (issuer '{certificate.Issuer}') does not chain to the CA of {orgId}: {Describe(chain)}";
            return CertificateVerdict.Untrusted;
        }

        reason = null;
        return CertificateVerdict.Trusted;
    }

    /// <summary>
    /// Validates serialized identity bytes (org id and certificate DER, as peers present them) and, when trusted,
    /// returns the identity with its PKI-ID. Hostile input gives <see cref="CertificateVerdict.Malformed"/>, never an exception.
    /// </summary>
    internal CertificateVerdict ValidateIdentity(ReadOnlySpan<byte> identity, out KnownIdentity? known, out string? reason)
    {
        known = null;
        if (!IdentityCodec.TryDecode(identity, out var orgBytes, out var der))
        {
            reason = $"identity of {identity.Length} bytes is not an org id and a certificate";
            return CertificateVerdict.Malformed;
        }

        string orgId;
        try
        {
            orgId = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(orgBytes);
        }
        catch (DecoderFallbackException)
        {
            reason = "identity's org id is not UTF-8";
            return CertificateVerdict.Malformed;
        }

        if (!IdentityCodec.IsValidOrgId(orgId))
        {
            reason = $"identity's org id '{orgId}' is not a valid org id";
            return CertificateVerdict.Malformed;
        }

        X509Certificate2 certificate;
        try
        {
            certificate = X509CertificateLoader.LoadCertificate(der);
        }
        catch (CryptographicException e)
        {
            reason = $"identity of org '{orgId}' holds no X.509 certificate ({e.Message})";
            return CertificateVerdict.Malformed;
        }

        var verdict = Validate(orgId, certificate, out reason);
        if (verdict != CertificateVerdict.Trusted)
        {
            certificate.Dispose();
            return verdict;
        }

        known = new KnownIdentity(orgId, certificate, PkiId.Compute(orgId, der), identity.ToArray());
        return CertificateVerdict.Trusted;
    }

    private static string Describe(X509Chain chain)
    {
        var sb = new StringBuilder();
        foreach (var status in chain.ChainStatus)
        {
            if (sb.Length > 0)
            {
                sb.Append("; ");
            }

            sb.Append(status.Status).Append(" (").Append(status.StatusInformation.Trim()).Append(')');
        }

        return sb.Length == 0 ? "no chain to the org's CA" : sb.ToString();
    }
}
