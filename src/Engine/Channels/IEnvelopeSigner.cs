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

    /// <summary>True when <paramref name="signature"/> is <paramref name="pkiId"/>'s signature of <paramref name="payload"/>.</summary>
    bool Verify(ReadOnlySpan<byte> pkiId, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature);
}

/// <summary>No signatures (the default until the security layer provides a signer).</summary>
internal sealed class UnsignedEnvelopes : IEnvelopeSigner
{
    public static readonly UnsignedEnvelopes Instance = new();

    public byte[] Sign(ReadOnlySpan<byte> payload) => [];

    public bool Verify(ReadOnlySpan<byte> pkiId, ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature) => true;
}
