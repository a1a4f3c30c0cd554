namespace Engine.Security;

/// <summary>What a <see cref="TrustStore"/> decided about a presented certificate.</summary>
public enum CertificateVerdict
{
    /// <summary>Chains to the claimed org's trusted CA, within its validity, a peer (not a CA) certificate with a P-256 key.</summary>
    Trusted = 0,

    /// <summary>The identity bytes or the certificate do not parse.</summary>
    Malformed,

    /// <summary>The claimed org is not among the trusted orgs.</summary>
    UnknownOrg,

    /// <summary>The certificate's subject names another org than the one claimed.</summary>
    OrgMismatch,

    /// <summary>The certificate is not valid yet.</summary>
    NotYetValid,

    /// <summary>The certificate has expired.</summary>
    Expired,

    /// <summary>The certificate is a CA certificate, not a peer's.</summary>
    NotAPeerCertificate,

    /// <summary>The key is not ECDSA P-256.</summary>
    UnsupportedKey,

    /// <summary>The certificate does not chain to the claimed org's CA (another issuer, a bad signature, an expired CA ...).</summary>
    Untrusted,

    /// <summary>The certificate is fine but hashes to another PKI-ID than the one the sender claimed.</summary>
    PkiIdMismatch,
}
