using System.Buffers;
using System.Diagnostics.CodeAnalysis;
using Engine.Diagnostics;
using Engine.Ledger;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Member = Engine.Membership.Member;

namespace Engine.Channels;

/// <summary>
/// Engine's relay tree for blocks (<see cref="Node.GossipOptions.BlockRelayFanout"/> &gt; 0). The leader shuffles its
/// org's peers of the channel, splits them into <c>fanout</c> parts and sends the block to the first reachable peer of
/// each part in one frame that names the rest of that part; each receiver forwards the same way to the peers it was
/// given, then offers the block to its ledger. Every peer of the org receives each block once and sends about one: no
/// announcement, no request, no duplicate. Consecutive blocks take the same tree, so they arrive in order (one TCP
/// stream per hop); a new shuffle every <see cref="ReshuffleEvery"/> blocks, or when the org's peers change, spreads
/// the relaying. A peer the tree misses is repaired by gap requests, pull or state transfer.
/// </summary>
/// <remarks>
/// Wire: <c>Envelope { payload = GossipMessage { channel = 2, tag = 3, relay (103) = BlockRelay { bytes block = 1;
/// repeated bytes peer = 2 } } }</c>, where <c>block</c> is the block's own envelope and each <c>peer</c> a PKI-ID. A
/// receiver forwards only to members it knows alive in its own org (so nothing leaves the org), never to itself, and to at
/// most <see cref="MaxPeers"/> named peers; a peer named that it does not know stays in the list it hands on (the next
/// relay may know it). Sends never block: when a send fails, the next peer of the part becomes its head and the failed
/// one stays in the list that head gets.
/// </remarks>
internal sealed class BlockRelay
{
    /// <summary>The GossipMessage field of a relayed block (Engine only).</summary>
    public const int RelayContent = 103;

    /// <summary>The most peers one relay frame may name.</summary>
    public const int MaxPeers = 4096;

    /// <summary>The longest PKI-ID a relay frame may name.</summary>
    public const int MaxPkiIdBytes = 256;

    private const int BlockField = 1;
    private const int PeerField = 2;
    private const int TagChanAndOrg = 3; // GossipMessage.Tag.CHAN_AND_ORG

    private readonly ChannelManager _host;
    private readonly int _fanout;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLog;
    private readonly Random _random;
    private readonly Dictionary<GossipChannel, Tree> _trees = [];
    private readonly List<byte[]> _targets = []; // scratch of Start, under the _trees lock
    private long _shuffles;
    private long _started;
    private long _received;
    private long _sent;
    private long _sendFailures;
    private long _unreached;
    private long _malformed;

    public BlockRelay(ChannelManager host, int fanout, Random random, ILogger logger)
    {
        _host = host;
        _fanout = fanout;
        _random = random;
        _logger = logger;
        _dropLog = new LogRateLimiter(host.Time, TimeSpan.FromSeconds(1));
    }

    /// <summary>Relay trees this peer started (blocks it led).</summary>
    public long Started => Interlocked.Read(ref _started);

    /// <summary>
    /// Blocks a leader relays along one tree before shuffling it afresh. A new tree pairs most peers with children they
    /// have no connection to yet. At 100 blocks/s across 2 x 50 peers, four runs with a shuffle every 256 blocks gave p99
    /// 16, 31, 150 and 56 ms (in two, the slowest blocks came right after the shuffle at block 1,025), three with none
    /// 26, 15 and 16 ms. A stall that delays ~10–20 blocks stays out of p99 only if shuffles are rarer than ~100 × that:
    /// the load of relaying still moves around, every ~40 s at that rate and every hour or so at a few blocks a second.
    /// </summary>
    public const int ReshuffleEvery = 4096;

    /// <summary>Trees drawn (a new shuffle of the org's peers).</summary>
    public long Shuffles => Interlocked.Read(ref _shuffles);

    /// <summary>Relay frames received and accepted.</summary>
    public long Received => Interlocked.Read(ref _received);

    /// <summary>Relay frames sent.</summary>
    public long Sent => Interlocked.Read(ref _sent);

    /// <summary>Sends that failed (a connection queue full, a peer unreachable): the next peer of the part was tried.</summary>
    public long SendFailures => Interlocked.Read(ref _sendFailures);

    /// <summary>Named peers left out because no peer of their part could be reached (repaired by gap requests and pull).</summary>
    public long Unreached => Interlocked.Read(ref _unreached);

    /// <summary>Relay frames refused as malformed.</summary>
    public long Malformed => Interlocked.Read(ref _malformed);

    /// <summary>
    /// Starts the tree for <paramref name="block"/> (an envelope this peer, the leader, got from the orderer). Consecutive
    /// blocks take the same tree, so they arrive in order (one TCP stream per hop); the tree is shuffled afresh when the
    /// org's peers in the channel change and every <see cref="ReshuffleEvery"/> blocks, which spreads the relaying.
    /// </summary>
    public void Start(GossipChannel channel, ReadOnlySpan<byte> block)
    {
        Tree tree;
        lock (_trees)
        {
            _targets.Clear();
            channel.RelayTargets(_targets);
            if (_targets.Count == 0)
            {
                return;
            }

            if (!_trees.TryGetValue(channel, out var held) || held.Blocks >= ReshuffleEvery || !held.Holds(_targets))
            {
                for (int i = _targets.Count - 1; i > 0; i--)
                {
                    int j = _random.Next(i + 1);
                    (_targets[i], _targets[j]) = (_targets[j], _targets[i]);
                }

                held = new Tree(_targets);
                _trees[channel] = held;
                Interlocked.Increment(ref _shuffles);
            }

            held.Blocks++;
            tree = held;
        }

        Interlocked.Increment(ref _started);
        Forward(channel, block, tree.Ids, tree.Entries); // a tree's arrays never change once drawn
    }

    /// <summary>Forgets a channel's tree (the channel is being left).</summary>
    public void Forget(GossipChannel channel)
    {
        lock (_trees)
        {
            _trees.Remove(channel);
        }
    }

    /// <summary>A relay frame (<paramref name="content"/> is field 103's content): forwards it, then offers the block to the ledger.</summary>
    public void OnRelay(GossipChannel channel, PeerEndpoint source, ReadOnlySpan<byte> content)
    {
        var entries = ArrayPool<Range>.Shared.Rent(16);
        try
        {
            if (!TryParse(content, ref entries, out var block, out int count, out string? error))
            {
                Refuse(source, error);
                return;
            }

            if (BlockCodec.TryRead(block, out var view) is { } blockError)
            {
                Refuse(source, "its block: " + blockError);
                return;
            }

            if (!view.Channel.SequenceEqual(channel.IdBytes))
            {
                Refuse(source, "its block is of another channel");
                return;
            }

            Interlocked.Increment(ref _received);
            Forward(channel, block, content, entries.AsSpan(0, count));
            if (channel.AcceptsPushed(view.Sequence))
            {
                channel.OnBlock(block, source);
            }
        }
        finally
        {
            ArrayPool<Range>.Shared.Return(entries);
        }
    }

    /// <summary>
    /// Splits <paramref name="entries"/> (PKI-IDs in <paramref name="ids"/>) into at most <c>fanout</c> parts and sends
    /// each part's first reachable peer the block with the rest of its part.
    /// </summary>
    private void Forward(GossipChannel channel, ReadOnlySpan<byte> block, ReadOnlySpan<byte> ids, ReadOnlySpan<Range> entries)
    {
        int n = entries.Length;
        if (n == 0)
        {
            return;
        }

        int parts = Math.Min(_fanout, n);
        var skip = ArrayPool<bool>.Shared.Rent(n);
        try
        {
            Array.Clear(skip, 0, n);
            for (int p = 0; p < parts; p++)
            {
                int start = (int)((long)p * n / parts);
                int end = (int)((long)(p + 1) * n / parts);
                bool sent = false;
                for (int h = start; h < end && !sent; h++)
                {
                    var id = ids[entries[h]];
                    if (id.SequenceEqual(_host.PkiId))
                    {
                        skip[h] = true; // this peer named in its own part: a relay's mistake, never a loop
                        continue;
                    }

                    if (_host.Table.Find(id) is not { } member || !IsRelayPeer(member, _host.Org))
                    {
                        continue; // unknown here (or not of this org): stays in the list for the next relay
                    }

                    skip[h] = true;
                    var status = Send(member.Endpoint, channel.IdBytes, block, ids, entries[start..end], skip.AsSpan(start, end - start));
                    if (status == SendStatus.Sent)
                    {
                        Interlocked.Increment(ref _sent);
                        sent = true;
                    }
                    else
                    {
                        // Its connection's queue is full, or it cannot be reached from here: it stays in the list the next
                        // peer of the part gets, whose own connection to it may fare better (or which skips it in turn).
                        skip[h] = false;
                        Interlocked.Increment(ref _sendFailures);
                    }
                }

                if (!sent)
                {
                    int left = 0;
                    for (int h = start; h < end; h++)
                    {
                        left += skip[h] ? 0 : 1;
                    }

                    Interlocked.Add(ref _unreached, left);
                }
            }
        }
        finally
        {
            ArrayPool<bool>.Shared.Return(skip);
        }
    }

    /// <summary>True when <paramref name="member"/> may be sent relayed blocks by a peer of <paramref name="org"/>: alive (or suspect), of that org, reachable.</summary>
    public static bool IsRelayPeer(Member member, string org) =>
        member.State is MemberState.Alive or MemberState.Suspect && member.Org == org && !member.Endpoint.IsEmpty;

    /// <summary>One relay frame to <paramref name="destination"/>: the block and the part's peers not marked in <paramref name="skip"/>.</summary>
    private SendStatus Send(PeerEndpoint destination, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> block, ReadOnlySpan<byte> ids,
        ReadOnlySpan<Range> part, ReadOnlySpan<bool> skip)
    {
        int size = FrameSize(channel, block.Length, ids, part, skip, out int message, out int relay);
        var buffer = LargeBuffers.Pool.Rent(size);
        try
        {
            WriteFrame(buffer, channel, block, ids, part, skip, message, relay);
            return _host.Transport.SendFrame(destination, buffer.AsSpan(0, size));
        }
        finally
        {
            LargeBuffers.Pool.Return(buffer);
        }
    }

    /// <summary>A relay frame naming <paramref name="peers"/> (what a relay sends; tests use it to forge one).</summary>
    internal static byte[] Frame(ReadOnlySpan<byte> channel, ReadOnlySpan<byte> block, IReadOnlyList<byte[]> peers)
    {
        var (ids, entries) = Flatten(peers);
        var frame = new byte[FrameSize(channel, block.Length, ids, entries)];
        WriteFrame(frame, channel, block, ids, entries);
        return frame;
    }

    /// <summary>PKI-IDs laid end to end, and where each one is: the form a relay forwards from.</summary>
    internal static (byte[] Ids, Range[] Entries) Flatten(IReadOnlyList<byte[]> peers)
    {
        int total = 0;
        for (int i = 0; i < peers.Count; i++)
        {
            total += peers[i].Length;
        }

        var ids = new byte[total];
        var entries = new Range[peers.Count];
        int at = 0;
        for (int i = 0; i < peers.Count; i++)
        {
            peers[i].CopyTo(ids, at);
            entries[i] = new Range(at, at + peers[i].Length);
            at += peers[i].Length;
        }

        return (ids, entries);
    }

    /// <summary>The size of a relay frame carrying a block of <paramref name="blockLength"/> bytes and naming the peers <paramref name="peers"/> locates in <paramref name="ids"/>.</summary>
    internal static int FrameSize(ReadOnlySpan<byte> channel, int blockLength, ReadOnlySpan<byte> ids, ReadOnlySpan<Range> peers) =>
        FrameSize(channel, blockLength, ids, peers, default, out _, out _);

    /// <summary>Writes a relay frame naming <paramref name="peers"/> into <paramref name="destination"/>; returns its length.</summary>
    internal static int WriteFrame(Span<byte> destination, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> block, ReadOnlySpan<byte> ids, ReadOnlySpan<Range> peers)
    {
        int size = FrameSize(channel, block.Length, ids, peers, default, out int message, out int relay);
        WriteFrame(destination, channel, block, ids, peers, default, message, relay);
        return size;
    }

    /// <summary>The frame's size, and its GossipMessage's and BlockRelay's; <paramref name="skip"/> (empty: none) marks peers left out.</summary>
    private static int FrameSize(ReadOnlySpan<byte> channel, int blockLength, ReadOnlySpan<byte> ids, ReadOnlySpan<Range> part,
        ReadOnlySpan<bool> skip, out int message, out int relay)
    {
        relay = ProtoSpanWriter.BytesFieldSize(BlockField, blockLength);
        for (int i = 0; i < part.Length; i++)
        {
            if (skip.IsEmpty || !skip[i])
            {
                relay += ProtoSpanWriter.BytesFieldSize(PeerField, part[i].GetOffsetAndLength(ids.Length).Length);
            }
        }

        message = ProtoSpanWriter.BytesFieldSize(2, channel.Length) + ProtoSpanWriter.VarintFieldSize(3, TagChanAndOrg)
            + ProtoSpanWriter.MessageFieldSize(RelayContent, relay);
        return ProtoSpanWriter.MessageFieldSize(1, message);
    }

    private static void WriteFrame(Span<byte> destination, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> block, ReadOnlySpan<byte> ids,
        ReadOnlySpan<Range> part, ReadOnlySpan<bool> skip, int message, int relay)
    {
        var w = new ProtoSpanWriter(destination);
        w.WriteMessageHeader(1, message);
        w.WriteBytesField(2, channel);
        w.WriteVarintField(3, TagChanAndOrg);
        w.WriteMessageHeader(RelayContent, relay);
        w.WriteBytesField(BlockField, block);
        for (int i = 0; i < part.Length; i++)
        {
            if (skip.IsEmpty || !skip[i])
            {
                w.WriteBytesField(PeerField, ids[part[i]]);
            }
        }
    }

    /// <summary>Reads a relay's block and peers (as ranges of <paramref name="content"/>); false with the reason when malformed.</summary>
    internal static bool TryParse(ReadOnlySpan<byte> content, ref Range[] entries, out ReadOnlySpan<byte> block, out int count, [NotNullWhen(false)] out string? error)
    {
        block = default;
        count = 0;
        error = null;
        bool hasBlock = false;
        var r = new ProtoSpanReader(content);
        while (!r.End)
        {
            if (!r.TryReadTag(out int field, out var wt))
            {
                error = "malformed protobuf";
                return false;
            }

            if (wt == WireType.LengthDelimited && field is BlockField or PeerField)
            {
                if (!r.TryReadBytes(out var value))
                {
                    error = "malformed protobuf";
                    return false;
                }

                if (field == BlockField)
                {
                    block = value;
                    hasBlock = true;
                    continue;
                }

                if (value.IsEmpty || value.Length > MaxPkiIdBytes)
                {
                    error = $"a peer's PKI-ID is {value.Length} bytes";
                    return false;
                }

                if (count == MaxPeers)
                {
                    error = $"it names more than {MaxPeers} peers";
                    return false;
                }

                if (count == entries.Length)
                {
                    var grown = ArrayPool<Range>.Shared.Rent(entries.Length * 2);
                    entries.AsSpan(0, count).CopyTo(grown);
                    ArrayPool<Range>.Shared.Return(entries);
                    entries = grown;
                }

                entries[count++] = new Range(r.Position - value.Length, r.Position);
            }
            else if (!r.TrySkip(wt))
            {
                error = "malformed protobuf";
                return false;
            }
        }

        if (!hasBlock)
        {
            error = "it carries no block";
            return false;
        }

        return true;
    }

    private void Refuse(PeerEndpoint source, string reason)
    {
        Interlocked.Increment(ref _malformed);
        if (_dropLog.TryAcquire(out long suppressed))
        {
            ChannelLog.Dropped(_logger, _host.PeerName, "a relayed block", source, reason, suppressed);
        }
    }

    /// <summary>A leader's tree for one channel: the order of the org's peers (flattened once), and the blocks sent along it.</summary>
    private sealed class Tree
    {
        private readonly HashSet<byte[]> _members;

        public Tree(List<byte[]> order)
        {
            (Ids, Entries) = Flatten(order);
            _members = new HashSet<byte[]>(order, PkiIdComparer.Instance);
        }

        public byte[] Ids { get; }

        public Range[] Entries { get; }

        public int Blocks { get; set; }

        /// <summary>True when <paramref name="targets"/> are exactly this tree's peers.</summary>
        public bool Holds(List<byte[]> targets)
        {
            if (targets.Count != Entries.Length)
            {
                return false;
            }

            foreach (var t in targets)
            {
                if (!_members.Contains(t))
                {
                    return false;
                }
            }

            return true;
        }
    }
}
