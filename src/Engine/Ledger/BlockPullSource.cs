using System.Buffers;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Ledger;

/// <summary>
/// Block pull over a channel's <see cref="BlockStore"/>, for the generic <see cref="PullEngine"/>: a peer shows the
/// digests of the blocks in its window (the last <see cref="LedgerOptions.MaxBlockCountToStore"/> committed), wants
/// the blocks it has neither committed nor buffered within its reorder buffer, and offers what arrives to the store.
/// Digests are the gossip layer's block digests (<see cref="MessageId.ForBlock"/>), so they match
/// <see cref="StorePullSource"/>'s. Messages are CHAN_AND_ORG of the channel with msg_type BLOCK_MSG.
/// </summary>
internal sealed class BlockPullSource : IPullItemSource
{
    private readonly BlockStore _store;
    private readonly ulong[] _window;
    private long _repaired;

    public BlockPullSource(BlockStore store, LedgerOptions options)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        _store = store;
        _window = new ulong[options.MaxBlockCountToStore];
    }

    public PullMsgType MsgType => PullMsgType.BlockMsg;

    public ReadOnlySpan<byte> Channel => _store.ChannelBytes;

    public GossipMessage.Types.Tag Tag => GossipMessage.Types.Tag.ChanAndOrg;

    /// <summary>Blocks pull brought that the store committed or buffered (repairs of what push missed).</summary>
    public long Repaired => Volatile.Read(ref _repaired);

    public void CollectDigests(DigestSet into, PeerEndpoint remote, int max)
    {
        ArgumentNullException.ThrowIfNull(into);
        int count = _store.CopyWindow(_window);
        for (int i = 0; i < count && into.Count < max; i++)
        {
            var id = MessageId.ForBlock(_store.ChannelBytes, _window[i]);
            int length = id.WriteDigest(into.Reserve(id.DigestLength));
            into.CommitReserved(length, out _);
        }
    }

    public bool Wants(ReadOnlySpan<byte> digest, PeerEndpoint holder) =>
        MessageId.TryParseDigest(digest, out var id) && Mine(in id) && _store.Wants(id.Sequence);

    public bool TryCopyItem(ReadOnlySpan<byte> digest, PeerEndpoint remote, IBufferWriter<byte> destination) =>
        MessageId.TryParseDigest(digest, out var id) && Mine(in id) && _store.TryCopyBlock(id.Sequence, destination);

    public bool TryGetDigest(ReadOnlySpan<byte> item, Span<byte> digest, out int length)
    {
        length = 0;
        if (BlockCodec.TryRead(item, out var block) is not null || !block.Channel.SequenceEqual(_store.ChannelBytes))
        {
            return false;
        }

        var id = MessageId.ForBlock(block.Channel, block.Sequence);
        if (!id.IsValid || digest.Length < id.DigestLength)
        {
            return false;
        }

        length = id.WriteDigest(digest);
        return true;
    }

    public void Accept(ReadOnlySpan<byte> item, PeerEndpoint holder)
    {
        if (_store.Offer(item, holder) is OfferResult.Committed or OfferResult.Buffered)
        {
            Interlocked.Increment(ref _repaired);
        }
    }

    private bool Mine(in MessageId id) => id.Kind == MessageKind.Block && id.Channel.SequenceEqual(_store.ChannelBytes);
}
