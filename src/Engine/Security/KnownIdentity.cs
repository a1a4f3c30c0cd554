using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Security;

/// <summary>A validated peer identity: org, certificate, PKI-ID and the public key its signatures verify with.</summary>
internal sealed class KnownIdentity
{
    public KnownIdentity(string orgId, X509Certificate2 certificate, PkiId pkiId, byte[] serialized)
    {
        OrgId = orgId;
        Certificate = certificate;
        PkiId = pkiId;
        Serialized = serialized;
        PublicKey = certificate.GetECDsaPublicKey() ?? throw new ArgumentException("not an ECDSA certificate", nameof(certificate));
        NotAfter = certificate.NotAfter.ToUniversalTime();
    }

    public string OrgId { get; }

    public X509Certificate2 Certificate { get; }

    public PkiId PkiId { get; }

    /// <summary>The identity bytes as presented (served to identity pulls).</summary>
    public byte[] Serialized { get; }

    /// <summary>
    /// The verification key. ECDsa on OpenSSL creates a fresh context per verification, so concurrent verifications on one
    /// key are safe. Identities are never disposed: one dropped from the registry may still be verifying on another thread,
    /// so its key is left to the finalizer.
    /// </summary>
    public ECDsa PublicKey { get; }

    public DateTimeOffset NotAfter { get; }
}
