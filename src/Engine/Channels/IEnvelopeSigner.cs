using Engine.Protocol;
using Engine.Security;
using Engine.Transport;

namespace Engine.Channels;

/// <summary>
/// The one seam where channel messages this peer originates (StateInfo, leadership) are signed, and where received ones
/// are verified before anything stores, forwards or acts on them. The security layer plugs in here; until it does,
/// <see cref="UnsignedEnvelopes"/> sends an empty signature and accepts every message.
/// </summary>
internal interface IEnvelopeSigner
{
    /// <summary>The signature of <paramref name="payload"/> (the marshalled GossipMessage) by this peer; empty for none.</summary>
    byte[] Sign(ReadOnlySpan<byte> payload);

    /// <summary>
    /// True when a received StateInfo or leadership envelope may be used: its signature is its claimed sender's and the
    /// sender may speak in the channel. A refusal is counted and logged by the implementation.
    /// </summary>
    bool Verify(in EnvelopeView view, PeerEndpoint source);
}

/// <summary>No signatures (the default until the security layer provides a signer).</summary>
internal sealed class UnsignedEnvelopes : IEnvelopeSigner
{
    public static readonly UnsignedEnvelopes Instance = new();

    public byte[] Sign(ReadOnlySpan<byte> payload) => [];

    public bool Verify(in EnvelopeView view, PeerEndpoint source) => true;
}

/// <summary>The security layer's signatures (a node with a credential): signs with the node's key, verifies through <see cref="NodeSecurity.AcceptChannelEnvelope"/>.</summary>
internal sealed class NodeSecuritySigner(NodeSecurity security) : IEnvelopeSigner
{
    public byte[] Sign(ReadOnlySpan<byte> payload)
    {
        Span<byte> signature = stackalloc byte[NodeSecurity.SignatureReserve];
        return signature[..security.Sign(payload, signature)].ToArray();
    }

    public bool Verify(in EnvelopeView view, PeerEndpoint source) => security.AcceptChannelEnvelope(view, source);
}
