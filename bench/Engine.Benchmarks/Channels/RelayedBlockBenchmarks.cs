using BenchmarkDotNet.Attributes;
using Engine.Channels;
using Engine.Ledger;
using Engine.Membership;
using Engine.Node;
using Engine.Protocol;
using Engine.Transport;

namespace Engine.Benchmarks.Channels;

/// <summary>
/// A relay of the block relay tree (<c>GossipOptions.BlockRelayFanout</c> = 4): a relayed block naming 12 peers of the org
/// arrives, is routed (<c>ChannelManager.TryHandle</c>), parsed, forwarded to the head of each of 4 parts in one frame each
/// (built in a pooled buffer and handed to a transport that discards it) and committed by the ledger. One block per
/// operation, each the next number. <see cref="EncodeOnly"/> is the benchmark's own work (writing the incoming frame), to subtract.
/// </summary>
[MemoryDiagnoser]
public class RelayedBlockBenchmarks : IAsyncDisposable
{
    private static readonly byte[] Channel = "mychannel"u8.ToArray();
    private static readonly PeerEndpoint Parent = PeerEndpoint.Parse("10.0.0.2:7051");
    private readonly List<byte[]> _named = [];
    private byte[] _ids = [];
    private Range[] _entries = [];
    private byte[] _data = [];
    private byte[] _block = [];
    private byte[] _frame = [];
    private GossipNode _node = null!;
    private ulong _next;

    [Params(1024, 65536)]
    public int BlockBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var time = TimeProvider.System;
        var options = new GossipOptions { OrgId = "Org1", Endpoint = PeerEndpoint.Parse("10.0.0.1:7051"), BlockRelayFanout = 4 };
        options.Election.UseLeaderElection = false; // a static follower: blocks come by relay only
        _node = new GossipNode(options, new DiscardTransport(options.Endpoint), new GossipNodeContext { Time = time, Seed = 1 });
        _node.StartAsync().AsTask().GetAwaiter().GetResult();
        var config = new ChannelConfiguration("mychannel", [new OrgAnchors("Org1", [])]);
        _node.JoinChannel(BlockCodec.EncodeConfig(0, config), PeerEndpoint.Parse("10.0.0.100:7050"));
        long now = time.GetTimestamp();
        for (int i = 0; i < 12; i++)
        {
            var pki = new byte[32];
            pki[0] = (byte)(i + 1);
            var announcement = new MemberAnnouncement(new Engine.Membership.PeerTime(1, 1), MemberState.Alive, PeerEndpoint.FromIPv4(0x0A00_0010u + (uint)i, 7051), default, "Org1");
            _node.Membership!.Update(pki, in announcement, now, out _);
            _named.Add(pki);
        }

        _data = new byte[BlockBytes];
        new Random(1).NextBytes(_data);
        _block = new byte[BlockCodec.EnvelopeSize(Channel, ulong.MaxValue, BlockContentKind.Transactions, BlockBytes)];
        (_ids, _entries) = BlockRelay.Flatten(_named);
        _frame = new byte[BlockRelay.FrameSize(Channel, _block.Length, _ids, _entries)];
        _next = 1;
    }

    [GlobalCleanup]
    public async Task Cleanup() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _node.StopAsync();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public ulong ReceiveAndRelay()
    {
        int length = Encode();
        var frame = _frame.AsSpan(0, length);
        if (EnvelopeView.TryParse(frame, out var view))
        {
            _node.ChannelLayer!.TryHandle(Parent, frame, in view);
        }

        return _node.GetLedgerHeight("mychannel");
    }

    [Benchmark]
    public int EncodeOnly() => Encode();

    private int Encode()
    {
        int blockLength = BlockCodec.Write(_block, Channel, _next++, BlockContentKind.Transactions, _data);
        return BlockRelay.WriteFrame(_frame, Channel, _block.AsSpan(0, blockLength), _ids, _entries);
    }
}
