using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Security;

/// <summary>
/// A peer's own identity: its org, its certificate (issued by the org's CA) with the private key, and the PKI-ID they
/// hash to. What a peer signs its messages with and presents to others.
/// </summary>
public sealed class PeerCredential : IDisposable
{
    /// <summary>Wraps a certificate that carries its private key.</summary>
    public PeerCredential(string orgId, X509Certificate2 certificate)
    {
        OrgCertificateAuthority.RequireOrgId(orgId);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException("a peer credential needs the certificate's private key", nameof(certificate));
        }

        if (!CertificateNames.HasP256Key(certificate))
        {
            throw new ArgumentException($"'{certificate.Subject}' does not have an ECDSA P-256 key", nameof(certificate));
        }

        OrgId = orgId;
        Certificate = certificate;
        PkiId = PkiId.Compute(orgId, certificate.RawDataMemory.Span);
        Identity = IdentityCodec.Encode(orgId, certificate.RawDataMemory.Span);
    }

    /// <summary>The org id (Fabric's MSP id).</summary>
    public string OrgId { get; }

    /// <summary>The peer certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>SHA-256(org id ‖ certificate DER).</summary>
    public PkiId PkiId { get; }

    /// <summary>The serialized identity others learn this peer by (org id and certificate DER).</summary>
    internal byte[] Identity { get; }

    /// <summary>A new handle on the private key (the caller disposes it).</summary>
    internal ECDsa GetPrivateKey() =>
        Certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException($"'{Certificate.Subject}' has no ECDSA private key");

    /// <summary>The certificate as PEM.</summary>
    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>The private key as PKCS#8 PEM.</summary>
    public string ExportPrivateKeyPem()
    {
        using var key = GetPrivateKey();
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();
}
