using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Engine.Security;

namespace Engine.Transport;

/// <summary>
/// The crypto material that turns every TCP connection of a <see cref="SocketTransport"/> into mutual TLS: this peer's
/// credential (presented as both TLS server and client certificate) and the org CAs whose peer certificates are
/// accepted. The ConnEstablish handshake inside the TLS stream then names the sender's PKI-ID, which must be the
/// SHA-256(org ‖ certificate) of the certificate it presented; anything else closes the connection with a log line
/// naming the remote address and the reason. Null <see cref="TransportOptions.Security"/> keeps plain TCP.
/// </summary>
public sealed class TransportSecurity
{
    private readonly SslStreamCertificateContext _context;

    /// <summary>Mutual TLS with <paramref name="credential"/>, trusting the peer certificates <paramref name="trust"/> validates.</summary>
    public TransportSecurity(PeerCredential credential, TrustStore trust)
    {
        ArgumentNullException.ThrowIfNull(credential);
        ArgumentNullException.ThrowIfNull(trust);
        Credential = credential;
        Trust = trust;
        _context = SslStreamCertificateContext.Create(credential.Certificate, additionalCertificates: null, offline: true);
        Handshake = Tcp.Handshake.IdentityFields(credential);
    }

    /// <summary>This peer's certificate and key.</summary>
    public PeerCredential Credential { get; }

    /// <summary>The org CAs trusted for peer certificates.</summary>
    public TrustStore Trust { get; }

    internal (byte[] PkiId, byte[] Identity) Handshake { get; }

    private static SslProtocols Protocols => SslProtocols.Tls13 | SslProtocols.Tls12;

    internal SslServerAuthenticationOptions ServerOptions(RemoteCertificateValidationCallback validate) => new()
    {
        ServerCertificateContext = _context,
        ClientCertificateRequired = true,
        RemoteCertificateValidationCallback = validate,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EnabledSslProtocols = Protocols,
    };

    internal SslClientAuthenticationOptions ClientOptions(RemoteCertificateValidationCallback validate) => new()
    {
        TargetHost = "engine-peer",
        ClientCertificateContext = _context,
        RemoteCertificateValidationCallback = validate,
        CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
        EnabledSslProtocols = Protocols,
    };

    /// <summary>
    /// The check of a presented TLS certificate (the system's chain verdict is ignored: peers trust their org CAs only):
    /// the org it names is trusted, and the trust store accepts it (chain to that org's CA, validity, a peer certificate
    /// with a P-256 key).
    /// </summary>
    internal bool Validate(X509Certificate? presented, out X509Certificate2? certificate, out string? reason)
    {
        certificate = null;
        if (presented is null)
        {
            reason = "no certificate presented";
            return false;
        }

        try
        {
            certificate = presented as X509Certificate2 ?? X509CertificateLoader.LoadCertificate(presented.GetRawCertData());
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            reason = $"the certificate does not parse: {e.Message}";
            return false;
        }

        string? org = CertificateNames.Organization(certificate);
        if (org is null || !IdentityCodec.IsValidOrgId(org))
        {
            reason = $"certificate '{certificate.Subject}' names no valid org";
            return false;
        }

        var verdict = Trust.Validate(org, certificate, out reason);
        if (verdict == CertificateVerdict.Trusted)
        {
            return true;
        }

        reason = $"{verdict}: {reason}";
        return false;
    }
}
