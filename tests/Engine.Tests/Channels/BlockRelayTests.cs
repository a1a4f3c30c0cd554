using Engine.Channels;
using Engine.Ledger;
using Engine.Transport;
using static Engine.Tests.Channels.ChannelCluster;

namespace Engine.Tests.Channels;

/// <summary>The block relay tree (<c>GossipOptions.BlockRelayFanout</c>): each peer receives each block once, in one frame.</summary>
public sealed class BlockRelayTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    private static ChannelCluster.Peer[] StartOrg(ChannelCluster net, int org, int count)
    {
        var peers = Enumerable.Range(0, count).Select(i => net.Start(org, i, bootstrap: i == 0 ? [] : [0])).ToArray();
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        return peers;
    }

    [Test]
    public async Task EveryPeerReceivesEachBlockOnce_AlongOneTree_InOrder_WithNothingRepaired()
    {
        await using var net = new ChannelCluster(1, configure: o => o.BlockRelayFanout = 3);
        var peers = StartOrg(net, 1, 12);
        net.RunUntil(() => net.Leaders("Org1").Length == 1 && peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 11), Limit, net.Describe);
        const int blocks = 20;
        for (int b = 0; b < blocks; b++)
        {
            net.Orderer.CutBlock(Channel, new byte[65536]);
            net.Run(TimeSpan.FromMilliseconds(100));
        }

        net.RunUntil(() => peers.All(p => p.Node.GetLedgerHeight(Channel) == blocks + 1), Limit, net.Describe);
        var relays = peers.Select(p => p.Node.ChannelManager!.Relay!).ToArray();
        var ledgers = peers.Select(p => p.Node.ChannelManager!.Find(Channel)!.Store.GetStatistics()).ToArray();
        var stats = peers.Select(p => p.Node.GetBlockStatistics(Channel)).ToArray();
        Assert.Multiple(() =>
        {
            Assert.That(relays.Sum(r => r.Started), Is.EqualTo(blocks), "the leader started one tree per block");
            Assert.That(relays.Sum(r => r.Shuffles), Is.EqualTo(1), "consecutive blocks take the same tree");
            Assert.That(relays.Sum(r => r.Received), Is.EqualTo(11 * blocks), "each follower received each block once");
            Assert.That(relays.Sum(r => r.Sent), Is.EqualTo(11 * blocks), "one frame per follower per block");
            Assert.That(relays.Max(r => r.Sent), Is.LessThanOrEqualTo(3 * blocks), "nobody sends more than fanout frames per block");
            Assert.That(ledgers.Sum(l => l.Duplicates + l.Buffered + l.TooFarAhead), Is.Zero, "every block arrived once and in order");
            Assert.That(stats.Sum(s => s.GapRequests + s.PullRepaired), Is.Zero, "nothing to repair");
            Assert.That(peers.Sum(p => p.Node.ChannelManager!.Lazy.GetStatistics().Wanted), Is.Zero, "no announcement, no request");
        });
        foreach (var peer in peers)
        {
            Assert.That(peer.Commits.Select(c => c.Number), Is.EqualTo(Enumerable.Range(0, blocks + 1).Select(n => (ulong)n)), peer.Name);
        }
    }

    [Test]
    public async Task ARelayThatStops_CostsItsSubtreeOnlyUntilRepair_EveryRunningPeerCommitsEveryBlock()
    {
        await using var net = new ChannelCluster(1, configure: o => o.BlockRelayFanout = 2);
        var peers = StartOrg(net, 1, 10);
        net.RunUntil(() => net.Leaders("Org1").Length == 1 && peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 9), Limit, net.Describe);
        net.Orderer.CutBlock(Channel, new byte[65536]);
        net.RunUntil(() => peers.All(p => p.Node.GetLedgerHeight(Channel) == 2), Limit, net.Describe);

        // Stop the peer that relayed the most (an inner node of the tree), while the others still hold it alive.
        var relay = peers.Where(p => !p.Node.IsLeader(Channel)).MaxBy(p => p.Node.ChannelManager!.Relay!.Sent)!;
        Assert.That(relay.Node.ChannelManager!.Relay!.Sent, Is.GreaterThan(0), "a follower relayed block #1");
        await relay.Node.StopAsync();
        var running = peers.Where(p => p != relay).ToArray();
        const int blocks = 10;
        for (int b = 0; b < blocks; b++)
        {
            net.Orderer.CutBlock(Channel, new byte[65536]);
            net.Run(TimeSpan.FromMilliseconds(200));
        }

        net.RunUntil(() => running.All(p => p.Node.GetLedgerHeight(Channel) == blocks + 2), Limit, net.Describe);
        long failures = running.Sum(p => p.Node.ChannelManager!.Relay!.SendFailures);
        long repaired = running.Sum(p => p.Node.GetBlockStatistics(Channel) is var s ? s.GapRequests + s.PullRepaired + s.CatchUpRequests : 0);
        TestContext.Out.WriteLine($"send failures {failures}, repair requests {repaired}");
        Assert.That(failures + repaired, Is.GreaterThan(0), "the stopped relay was routed around or its subtree repaired");
        foreach (var peer in running)
        {
            Assert.That(peer.Commits.Select(c => c.Number), Is.EqualTo(Enumerable.Range(0, blocks + 2).Select(n => (ulong)n)), peer.Name);
        }
    }

    [Test]
    public async Task AForgedRelay_IsRefusedWhenMalformed_AndNeverForwardedOutsideTheOrg()
    {
        await using var net = new ChannelCluster(2, configure: o => o.BlockRelayFanout = 3, anchorsInGenesis: true);
        var org1 = StartOrg(net, 1, 3);
        var org2 = StartOrg(net, 2, 2);
        var all = org1.Concat(org2).ToArray();
        net.RunUntil(() => all.All(p => p.Node.GetChannelView(Channel).Members.Count == 4), Limit, net.Describe);
        var attacker = net.Network.CreateTransport(PeerEndpoint.FromIPv4(0x0A00_0999u, 7051));
        await attacker.StartAsync(new NullHandler(), CancellationToken.None);
        var target = org1[1];
        var relay = target.Node.ChannelManager!.Relay!;
        var channel = System.Text.Encoding.UTF8.GetBytes(Channel);

        // Malformed: no block; a block of another channel; garbage.
        attacker.SendFrame(target.Endpoint, BlockRelay.Frame(channel, [], [[1, 2]]));
        attacker.SendFrame(target.Endpoint, BlockRelay.Frame(channel, Block("otherchannel", 1), []));
        attacker.SendFrame(target.Endpoint, BlockRelay.Frame(channel, [0xFF, 0xFF, 0xFF], []));
        net.Run(TimeSpan.FromMilliseconds(200));
        Assert.That(relay.Malformed, Is.EqualTo(3));
        Assert.That(net.Loggers.Lines.Any(l => l.Message.Contains("dropped a relayed block", StringComparison.Ordinal)), "the refusal is logged");

        // A well-formed relay naming an Org2 peer and an Org1 peer: only the Org1 peer gets the block.
        long org2Before = org2.Sum(p => p.Node.ChannelManager!.Relay!.Received);
        var org2Id = new byte[] { 2, 0 };
        var org1Id = new byte[] { 1, 2 };
        attacker.SendFrame(target.Endpoint, BlockRelay.Frame(channel, Block(Channel, 1), [org2Id, org1Id]));
        net.Run(TimeSpan.FromMilliseconds(200));
        Assert.Multiple(() =>
        {
            Assert.That(relay.Received, Is.EqualTo(1));
            Assert.That(org2.Sum(p => p.Node.ChannelManager!.Relay!.Received), Is.EqualTo(org2Before), "nothing crosses the org boundary");
            Assert.That(org1[2].Node.ChannelManager!.Relay!.Received, Is.EqualTo(1), "the Org1 peer named got it");
            Assert.That(target.Node.GetLedgerHeight(Channel), Is.EqualTo(2UL), "the block itself was committed");
        });
        await attacker.DisposeAsync();
    }

    private static byte[] Block(string channel, ulong number)
    {
        var id = System.Text.Encoding.UTF8.GetBytes(channel);
        var block = new byte[BlockCodec.EnvelopeSize(id, number, BlockContentKind.Transactions, 100)];
        BlockCodec.Write(block, id, number, BlockContentKind.Transactions, new byte[100]);
        return block;
    }

    private sealed class NullHandler : ITransportHandler
    {
        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in System.Buffers.ReadOnlySequence<byte> payload)
        {
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }
}
