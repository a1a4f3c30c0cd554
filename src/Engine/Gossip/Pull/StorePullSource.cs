using System.Buffers;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Gossip.Pull;

/// <summary>Decides whether a message may be shown to, or accepted from, a peer.</summary>
internal delegate bool PullFilter(in MessageId id, PeerEndpoint peer);

/// <summary>
/// The pull source of one <see cref="MessageKind"/> held in a <see cref="MessageStore"/>: digests are message digests
/// (<see cref="MessageId.WriteDigest"/>), items are the stored envelopes, accepted items go through the
/// <see cref="Disseminator"/> (stored and delivered, not pushed). Optional filters: <see cref="Egress"/> (what a peer
/// may see, e.g. only its org's) and <see cref="Ingress"/> (what this peer takes, e.g. no block below its height).
/// </summary>
internal sealed class StorePullSource : IPullItemSource
{
    private readonly Disseminator _disseminator;
    private readonly MessageKind _kind;
    private readonly byte[] _channel;

    public StorePullSource(Disseminator disseminator, MessageKind kind, PullMsgType msgType, ReadOnlySpan<byte> channel, GossipMessage.Types.Tag tag)
    {
        ArgumentNullException.ThrowIfNull(disseminator);
        _disseminator = disseminator;
        _kind = kind;
        MsgType = msgType;
        _channel = channel.ToArray();
        Tag = tag;
    }

    public PullMsgType MsgType { get; }

    public ReadOnlySpan<byte> Channel => _channel;

    public GossipMessage.Types.Tag Tag { get; }

    /// <summary>What a remote peer may see (null: everything of this kind and channel).</summary>
    public PullFilter? Egress { get; init; }

    /// <summary>What this peer accepts (null: anything of this kind and channel it does not hold).</summary>
    public PullFilter? Ingress { get; init; }

    public void CollectDigests(DigestSet into, PeerEndpoint remote, int max) =>
        _disseminator.Store.CollectDigests(_kind, into, max, new EgressFilter(this, remote));

    public bool Wants(ReadOnlySpan<byte> digest, PeerEndpoint holder) =>
        MessageId.TryParseDigest(digest, out var id) && Mine(in id) && !_disseminator.Store.Holds(in id) &&
        (Ingress is null || Ingress(in id, holder));

    public bool TryCopyItem(ReadOnlySpan<byte> digest, PeerEndpoint remote, IBufferWriter<byte> destination) =>
        MessageId.TryParseDigest(digest, out var id) && Mine(in id) && (Egress is null || Egress(in id, remote)) &&
        _disseminator.Store.TryCopy(in id, destination);

    public bool TryGetDigest(ReadOnlySpan<byte> item, Span<byte> digest, out int length)
    {
        length = 0;
        if (MessageIdentity.TryRead(item, out var id) != IdentityError.None || !Mine(in id) || digest.Length < id.DigestLength)
        {
            return false;
        }

        length = id.WriteDigest(digest);
        return true;
    }

    public void Accept(ReadOnlySpan<byte> item, PeerEndpoint holder) => _disseminator.AcceptPulled(holder, item);

    private bool Mine(in MessageId id) => id.Kind == _kind && id.Channel.SequenceEqual(_channel);

    private readonly struct EgressFilter(StorePullSource source, PeerEndpoint remote) : IDigestFilter
    {
        public bool Include(in MessageId id) => id.Channel.SequenceEqual(source._channel) && (source.Egress is null || source.Egress(in id, remote));
    }
}
