using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Security;

/// <summary>
/// An organization's certificate authority: a self-signed ECDSA P-256 CA certificate (subject <c>CN=ca.ORG, O=ORG</c>,
/// path length 0) and its private key. It issues the org's peer certificates; peers trust it through a
/// <see cref="TrustStore"/>.
/// </summary>
public sealed class OrgCertificateAuthority : IDisposable
{
    /// <summary>Default lifetime of a CA certificate: 10 years.</summary>
    public static readonly TimeSpan DefaultCaValidity = TimeSpan.FromDays(3650);

    /// <summary>Default lifetime of a peer certificate: 2 years.</summary>
    public static readonly TimeSpan DefaultPeerValidity = TimeSpan.FromDays(730);

    // Certificates start slightly in the past so a peer whose clock lags a little accepts them at once.
    private static readonly TimeSpan ClockSkew = TimeSpan.FromMinutes(5);

    private OrgCertificateAuthority(string orgId, X509Certificate2 certificate)
    {
        OrgId = orgId;
        Certificate = certificate;
    }

    /// <summary>The org id (Fabric's MSP id).</summary>
    public string OrgId { get; }

    /// <summary>The CA certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>Creates a new CA for <paramref name="orgId"/> (1-64 characters of [A-Za-z0-9._-]).</summary>
    public static OrgCertificateAuthority Create(string orgId, TimeProvider? time = null, TimeSpan? validity = null)
    {
        RequireOrgId(orgId);
        var now = (time ?? TimeProvider.System).GetUtcNow();
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Name("ca." + orgId, orgId), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: true, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        var certificate = request.CreateSelfSigned(now - ClockSkew, now + (validity ?? DefaultCaValidity));
        return new OrgCertificateAuthority(orgId, certificate);
    }

    /// <summary>
    /// Wraps an existing CA certificate that carries its private key (loaded from PEM). Its subject's O must be
    /// <paramref name="orgId"/> and it must be a CA.
    /// </summary>
    public static OrgCertificateAuthority FromCertificate(string orgId, X509Certificate2 certificate)
    {
        RequireOrgId(orgId);
        ArgumentNullException.ThrowIfNull(certificate);
        if (!certificate.HasPrivateKey)
        {
            throw new ArgumentException($"the CA certificate of {orgId} has no private key", nameof(certificate));
        }

        if (CertificateNames.Organization(certificate) != orgId || !CertificateNames.IsCertificateAuthority(certificate))
        {
            throw new ArgumentException($"'{certificate.Subject}' is not a CA certificate of org {orgId}", nameof(certificate));
        }

        return new OrgCertificateAuthority(orgId, certificate);
    }

    /// <summary>
    /// Issues a peer certificate (subject <c>CN=<paramref name="peerName"/>, O=ORG</c>, ECDSA P-256, digital
    /// signature, client and server authentication for mutual TLS) with a fresh key.
    /// </summary>
    public PeerCredential IssuePeer(string peerName, TimeProvider? time = null, TimeSpan? validity = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(peerName);
        if (!IdentityCodec.IsValidOrgId(peerName))
        {
            throw new ArgumentException($"peer name '{peerName}' must be 1-64 characters of [A-Za-z0-9._-]", nameof(peerName));
        }

        var now = (time ?? TimeProvider.System).GetUtcNow();
        var notAfter = now + (validity ?? DefaultPeerValidity);
        if (notAfter > Certificate.NotAfter)
        {
            notAfter = Certificate.NotAfter; // a certificate cannot outlive its issuer
        }

        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(Name(peerName, OrgId), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1", "Server Authentication"), new Oid("1.3.6.1.5.5.7.3.2", "Client Authentication")], critical: false));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, critical: false));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(Certificate, includeKeyIdentifier: true, includeIssuerAndSerial: false));
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(peerName);
        request.CertificateExtensions.Add(san.Build());

        byte[] serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F; // a positive serial number
        using var issued = request.Create(Certificate, now - ClockSkew, notAfter, serial);
        return new PeerCredential(OrgId, issued.CopyWithPrivateKey(key));
    }

    /// <summary>The CA certificate as PEM.</summary>
    public string ExportCertificatePem() => Certificate.ExportCertificatePem();

    /// <summary>The CA private key as PKCS#8 PEM.</summary>
    public string ExportPrivateKeyPem()
    {
        using var key = Certificate.GetECDsaPrivateKey() ?? throw new InvalidOperationException("the CA certificate has no private key");
        return key.ExportPkcs8PrivateKeyPem();
    }

    /// <inheritdoc/>
    public void Dispose() => Certificate.Dispose();

    private static X500DistinguishedName Name(string commonName, string orgId)
    {
        var builder = new X500DistinguishedNameBuilder();
        builder.AddCommonName(commonName);
        builder.AddOrganizationName(orgId);
        return builder.Build();
    }

    internal static void RequireOrgId(string orgId)
    {
        ArgumentNullException.ThrowIfNull(orgId);
        if (!IdentityCodec.IsValidOrgId(orgId))
        {
            throw new ArgumentException($"org id '{orgId}' must be 1-64 characters of [A-Za-z0-9._-], not starting with '.'", nameof(orgId));
        }
    }
}
