using System.Security.Cryptography;
using Engine.Protocol;

namespace Engine.Security;

/// <summary>
/// Signs envelope payloads with a peer's private key: ECDSA P-256 over SHA-256 of the payload bytes, the signature
/// DER-encoded (ASN.1 SEQUENCE of r and s, as Fabric's) into the Envelope's signature field. Thread-safe.
/// </summary>
internal sealed class MessageSigner : IDisposable
{
    /// <summary>The longest DER ECDSA P-256 signature: SEQUENCE(2) + 2 × INTEGER(2 + 33).</summary>
    public const int MaxSignatureLength = 72;

    private readonly ECDsa _key;
    private readonly Lock _lock = new();

    public MessageSigner(PeerCredential credential)
    {
        ArgumentNullException.ThrowIfNull(credential);
        _key = credential.GetPrivateKey();
        PkiId = credential.PkiId;
    }

    public PkiId PkiId { get; }

    /// <summary>Signs <paramref name="payload"/> into <paramref name="signature"/> (at least <see cref="MaxSignatureLength"/> bytes); returns its length.</summary>
    public int Sign(ReadOnlySpan<byte> payload, Span<byte> signature)
    {
        bool ok;
        int written;
        lock (_lock)
        {
            ok = _key.TrySignData(payload, signature, HashAlgorithmName.SHA256, DSASignatureFormat.Rfc3279DerSequence, out written);
        }

        if (!ok)
        {
            ThrowTooSmall(signature.Length);
        }

        SecurityMetrics.Signatures.Add(1);
        return written;
    }

    /// <summary>
    /// Writes a signed envelope around <paramref name="gossipMessage"/> (a marshalled GossipMessage): field 1 the payload,
    /// field 2 its signature. <paramref name="destination"/> needs <see cref="SealedSize"/> bytes; returns the length written.
    /// </summary>
    public int Seal(ReadOnlySpan<byte> gossipMessage, Span<byte> destination)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteBytesField(1, gossipMessage);
        int written = w.Position;
        Span<byte> signature = stackalloc byte[MaxSignatureLength];
        int length = Sign(gossipMessage, signature);
        return AliveCodec.WriteSignature(destination, written, signature[..length]); // field 2, as for any envelope
    }

    /// <summary>An upper bound of the sealed envelope's size for a payload of <paramref name="payloadLength"/> bytes.</summary>
    public static int SealedSize(int payloadLength) =>
        ProtoSpanWriter.BytesFieldSize(1, payloadLength) + ProtoSpanWriter.BytesFieldSize(2, MaxSignatureLength);

    /// <summary>Writes a signed alive envelope; <paramref name="destination"/> needs AliveCodec.EnvelopeSize(fields, MaxSignatureLength) bytes.</summary>
    public int SealAlive(in AliveFields fields, Span<byte> destination)
    {
        int written = AliveCodec.WritePayload(destination, fields, out var payload);
        Span<byte> signature = stackalloc byte[MaxSignatureLength];
        int length = Sign(destination[payload], signature);
        return AliveCodec.WriteSignature(destination, written, signature[..length]);
    }

    public void Dispose() => _key.Dispose();

    private static void ThrowTooSmall(int length) =>
        throw new ArgumentException($"signature buffer of {length} bytes is too small (need {MaxSignatureLength})");
}
