// Expected values are written inline, as the scenarios read; the arrays are built once per assertion.
#pragma warning disable CA1861
using Engine.Transport;

namespace Engine.Tests.Channels;

/// <summary>
/// The seed's first network (an orderer, Org1 and Org2 with peer0 and peer1 each, channel mychannel) through whole
/// nodes on the in-memory network in virtual time, step by step in the seed's order.
/// </summary>
[TestFixture]
public sealed class FirstNetworkTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private static readonly string[] Org1Leader = ["peer0.org1"];
    private static readonly string[] Org2Leader = ["peer0.org2"];

    [Test]
    public async Task FirstNetwork_WithBootstrap_ReachesTheSeedsEndState()
    {
        await using var net = new ChannelCluster(2);
        var p0o1 = net.Start(1, 0, bootstrap: [1]);
        net.Run(TimeSpan.FromSeconds(1));
        Assert.That(net.Loggers.Messages(3011).Concat(net.Loggers.Lines.Where(l => l.Message.Contains("bootstrap", StringComparison.OrdinalIgnoreCase)).Select(l => l.Message)), Is.Not.Empty,
            "peer0.org1 logs that it cannot reach its bootstrap peer yet");
        net.Start(1, 1, bootstrap: [0]);
        net.Start(2, 0, bootstrap: [1]);
        net.Start(2, 1, bootstrap: [0]);
        net.RunUntil(() => net.Peers.All(p => p.Node.AliveCount == 1), Limit, net.Describe);

        // Join in the seed's order; the first peer of each org to join becomes its leader.
        foreach (var (org, index) in new[] { (1, 0), (1, 1), (2, 0), (2, 1) })
        {
            net.Join(net.P(org, index));
            net.Run(TimeSpan.FromMilliseconds(300));
        }

        Assert.That(net.Loggers.Lines.Count(l => l.Message == "no anchor peers configured for Org2 in mychannel"), Is.EqualTo(4));
        net.RunUntil(() => net.Leaders("Org1").Length == 1 && net.Leaders("Org2").Length == 1
            && net.Peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 1), Limit, net.Describe);
        Assert.That(net.Leaders("Org1"), Is.EqualTo(Org1Leader));
        Assert.That(net.Leaders("Org2"), Is.EqualTo(Org2Leader));
        Assert.That(p0o1.Node.GetChannelView(ChannelCluster.Channel).Members.Single().Endpoint, Is.EqualTo(ChannelCluster.EndpointOf(1, 1)));
        Assert.That(net.P(1, 1).Node.GetChannelView(ChannelCluster.Channel).Leaders.Single().Endpoint, Is.EqualTo(ChannelCluster.EndpointOf(1, 0)),
            "the follower sees peer0.org1 as leader");

        // Anchor updates: Org1's, then Org2's; then every peer sees the three others.
        net.Orderer.UpdateAnchors(ChannelCluster.Channel, "Org1", [ChannelCluster.EndpointOf(1, 0)]);
        net.RunUntil(() => net.Peers.All(p => p.Node.GetLedgerHeight(ChannelCluster.Channel) == 2), Limit, net.Describe);
        net.Orderer.UpdateAnchors(ChannelCluster.Channel, "Org2", [ChannelCluster.EndpointOf(2, 0)]);
        net.RunUntil(() => net.Peers.All(p => p.Node.GetLedgerHeight(ChannelCluster.Channel) == 3
            && p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 3), Limit, net.Describe);
        Assert.That(net.Leaders("Org1"), Is.EqualTo(Org1Leader));
        Assert.That(net.Leaders("Org2"), Is.EqualTo(Org2Leader));

        // A data block goes to the two leaders only, and every peer commits it, each leader before its follower.
        while (net.Deliveries.TryDequeue(out _))
        {
        }

        ulong number = net.Orderer.CutBlock(ChannelCluster.Channel, [1, 2, 3]);
        net.RunUntil(() => net.Peers.All(p => p.Commits.Any(c => c.Number == number)), Limit, net.Describe);
        Assert.That(net.Deliveries.Where(d => d.Block == number).Select(d => d.Peer),
            Is.EquivalentTo(new[] { ChannelCluster.EndpointOf(1, 0), ChannelCluster.EndpointOf(2, 0) }));
        foreach (int org in new[] { 1, 2 })
        {
            var leaderAt = net.P(org, 0).Commits.Single(c => c.Number == number).At;
            var followerAt = net.P(org, 1).Commits.Single(c => c.Number == number).At;
            Assert.That(leaderAt, Is.LessThan(followerAt), $"Org{org}: the leader commits before its follower");
        }

        foreach (var peer in net.Peers)
        {
            Assert.That(peer.Commits.Select(c => c.Number), Is.EqualTo(new ulong[] { 0, 1, 2, number }), peer.Name);
        }
    }
}
