using BenchmarkDotNet.Attributes;
using Engine.Ledger;
using Engine.Node;
using Engine.Ordering;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Benchmarks.Channels;

/// <summary>
/// The follower's block path through the node's channel layer: a pushed block envelope from a peer of the org is
/// routed (<c>ChannelManager.TryHandle</c>), passes the ingress filter, is stored by the channel disseminator (de-duplication),
/// committed in sequence by the ledger and queued for the push emitter (no other peer to send to here). One block per
/// operation, each the next number, on a node that joined the channel (memory transport, virtual clock: no timers fire).
/// </summary>
[MemoryDiagnoser]
public class PushedBlockBenchmarks : IAsyncDisposable
{
    private static readonly byte[] Channel = "mychannel"u8.ToArray();
    private static readonly PeerEndpoint Pusher = PeerEndpoint.Parse("10.0.0.2:7051");
    private byte[] _data = [];
    private byte[] _buffer = [];
    private GossipNode _node = null!;
    private Orderer _orderer = null!;
    private ulong _next;

    [Params(1024, 65536)]
    public int BlockBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var time = new VirtualTimeProvider();
        var network = new MemoryNetwork(NetworkPolicy.Perfect(), time);
        _orderer = new Orderer(network.CreateTransport(PeerEndpoint.Parse("10.0.0.100:7050")), new OrdererOptions(), time);
        _orderer.StartAsync().AsTask().GetAwaiter().GetResult();
        var genesis = _orderer.CreateChannel(new ChannelConfiguration("mychannel", [new OrgAnchors("Org1", [])]));
        var options = new GossipOptions { OrgId = "Org1", Endpoint = PeerEndpoint.Parse("10.0.0.1:7051") };
        options.Election.UseLeaderElection = false; // a static follower: blocks come by push only
        _node = new GossipNode(options, network.CreateTransport(options.Endpoint), new GossipNodeContext { Time = time, Seed = 1 });
        _node.StartAsync().AsTask().GetAwaiter().GetResult();
        _node.JoinChannel(genesis, _orderer.Endpoint);
        _data = new byte[BlockBytes];
        new Random(1).NextBytes(_data);
        _buffer = new byte[BlockCodec.EnvelopeSize(Channel, ulong.MaxValue, BlockContentKind.Transactions, BlockBytes)];
        _next = 1;
    }

    [GlobalCleanup]
    public async Task Cleanup() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _node.StopAsync();
        await _orderer.DisposeAsync();
        GC.SuppressFinalize(this);
    }

    [Benchmark]
    public ulong ReceivePushedBlock()
    {
        int length = BlockCodec.Write(_buffer, Channel, _next++, BlockContentKind.Transactions, _data);
        var envelope = _buffer.AsSpan(0, length);
        if (EnvelopeView.TryParse(envelope, out var view))
        {
            _node.ChannelLayer!.TryHandle(Pusher, envelope, in view);
        }

        return _node.GetLedgerHeight("mychannel");
    }
}
