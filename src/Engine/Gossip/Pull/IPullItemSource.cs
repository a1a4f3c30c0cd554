using System.Buffers;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Gossip.Pull;

/// <summary>
/// What the generic <see cref="PullEngine"/> needs to know about one kind of item (blocks, identities, ...): which items
/// this peer holds and may show (egress), which it wants (ingress), how to serve and identify them, and where accepted
/// ones go. Called under the engine's lock; must not block.
/// </summary>
internal interface IPullItemSource
{
    /// <summary>The kind on the wire (the msg_type of the pull messages).</summary>
    PullMsgType MsgType { get; }

    /// <summary>The channel the pull messages carry (empty for channel-less kinds).</summary>
    ReadOnlySpan<byte> Channel { get; }

    /// <summary>The tag of the pull messages (CHAN_AND_ORG for blocks, EMPTY for identities).</summary>
    GossipMessage.Types.Tag Tag { get; }

    /// <summary>Responder: adds the digests of the items <paramref name="remote"/> may see, up to <paramref name="max"/> in the set (egress filter).</summary>
    void CollectDigests(DigestSet into, PeerEndpoint remote, int max);

    /// <summary>Initiator: true when this peer lacks the item and accepts it from <paramref name="holder"/> (ingress filter).</summary>
    bool Wants(ReadOnlySpan<byte> digest, PeerEndpoint holder);

    /// <summary>Responder: appends the item if it is still held and <paramref name="remote"/> may see it.</summary>
    bool TryCopyItem(ReadOnlySpan<byte> digest, PeerEndpoint remote, IBufferWriter<byte> destination);

    /// <summary>Initiator: the digest of an item received in an update; false when it is not a valid item of this kind.</summary>
    bool TryGetDigest(ReadOnlySpan<byte> item, Span<byte> digest, out int length);

    /// <summary>Initiator: an item that was requested and arrived with the right nonce.</summary>
    void Accept(ReadOnlySpan<byte> item, PeerEndpoint holder);
}
