using System.Buffers;
using System.Net;
using Engine.Protocol;
using Google.Protobuf;

namespace Engine.Transport.Tcp;

/// <summary>
/// The first frame each side sends on a stream: a <see cref="ConnEstablish"/> whose Engine-only field 100 names the
/// sender's listening endpoint, which is the key both sides file the connection under.
/// </summary>
internal static class Handshake
{
    /// <summary>Handshake bodies are tiny; anything larger is refused before parsing.</summary>
    public const int MaxBodyLength = 4096;

    public static byte[] Create(PeerEndpoint listeningEndpoint) =>
        new ConnEstablish { Endpoint = listeningEndpoint.ToString() }.ToByteArray();

    /// <summary>With TLS: the handshake also names this peer's PKI-ID and identity (org and the certificate it presents in TLS).</summary>
    public static byte[] Create(PeerEndpoint listeningEndpoint, TransportSecurity? security) =>
        security is null ? Create(listeningEndpoint) : new ConnEstablish
        {
            Endpoint = listeningEndpoint.ToString(),
            PkiId = ByteString.CopyFrom(security.Handshake.PkiId),
            Identity = ByteString.CopyFrom(security.Handshake.Identity),
        }.ToByteArray();

    internal static (byte[] PkiId, byte[] Identity) IdentityFields(Security.PeerCredential credential) =>
        (credential.PkiId.ToArray(), credential.Identity);

    /// <summary>
    /// The TLS binding: the claimed PKI-ID must be SHA-256(org ‖ DER) of the very certificate presented in TLS, and the
    /// identity (when sent) must carry that certificate. Returns the problem, or null when bound.
    /// </summary>
    public static string? CheckBinding(in ReadOnlySequence<byte> body, System.Security.Cryptography.X509Certificates.X509Certificate2 tlsCertificate)
    {
        ConnEstablish message;
        try
        {
            message = ConnEstablish.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            return $"not a ConnEstablish ({e.Message})";
        }

        if (message.PkiId.IsEmpty)
        {
            return "the handshake names no PKI-ID";
        }

        string? org = Security.CertificateNames.Organization(tlsCertificate);
        var bound = Security.PkiId.Compute(org ?? "", tlsCertificate.RawDataMemory.Span);
        if (!Security.PkiId.TryRead(message.PkiId.Span, out var claimed) || claimed != bound)
        {
            return $"PKI-ID mismatch: the handshake claims {Convert.ToHexStringLower(message.PkiId.Span[..Math.Min(8, message.PkiId.Length)])}, the TLS certificate '{tlsCertificate.Subject}' hashes to {bound.ToShortString()}";
        }

        if (!message.Identity.IsEmpty && (!Security.IdentityCodec.TryDecode(message.Identity.Span, out _, out var der) || !der.SequenceEqual(tlsCertificate.RawDataMemory.Span)))
        {
            return "the handshake's identity is not the certificate presented in TLS";
        }

        return null;
    }

    /// <summary>
    /// Reads the sender's listening endpoint. An unspecified address (the sender bound 0.0.0.0 or ::) is replaced by the
    /// address the connection came from.
    /// </summary>
    public static bool TryParse(in ReadOnlySequence<byte> body, PeerEndpoint remoteAddress, out PeerEndpoint endpoint, out string? problem)
    {
        endpoint = default;
        if (body.Length > MaxBodyLength)
        {
            problem = $"handshake of {body.Length} bytes exceeds {MaxBodyLength}";
            return false;
        }

        ConnEstablish message;
        try
        {
            message = ConnEstablish.Parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException e)
        {
            problem = $"not a ConnEstablish ({e.Message})";
            return false;
        }

        if (!PeerEndpoint.TryParse(message.Endpoint, out endpoint, out string? error))
        {
            problem = $"endpoint '{message.Endpoint}' is invalid: {error}";
            return false;
        }

        var address = endpoint.ToIPAddress();
        if (address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any))
        {
            Span<byte> bytes = stackalloc byte[16];
            remoteAddress.WriteAddressBytes(bytes);
            endpoint = PeerEndpoint.FromIPv6Bytes(bytes, endpoint.Port);
        }

        problem = null;
        return true;
    }
}
