// Expected values are written inline, as the scenarios read; the arrays are built once per assertion.
#pragma warning disable CA1861
using Engine.Node;
using Engine.Transport.Memory;

namespace Engine.Tests.Channels;

/// <summary>
/// Fabric's election scenarios (FABRIC-REFERENCE.md) through whole nodes that joined a channel: the election runs over
/// the node's StateInfo view and leadership messages travel through its channel disseminator. In-memory network,
/// virtual time, scaled timings (leader alive threshold 2 s, election 1 s, grace 3 s); peer i has PKI-ID [org, i].
/// </summary>
[TestFixture]
public sealed class ChannelElectionTests
{
    private const string Org = "Org1";
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(40);

    private static ChannelCluster.Peer[] StartOrg(ChannelCluster net, int count)
    {
        var peers = new ChannelCluster.Peer[count];
        for (int i = 0; i < count; i++)
        {
            peers[i] = net.Start(1, i, bootstrap: i == 0 ? [] : [0]);
        }

        net.RunUntil(() => peers.All(p => p.Node.AliveCount == count - 1), Limit, net.Describe);
        return peers;
    }

    private static void AssertOnlyLeader(ChannelCluster net, string name) =>
        Assert.That(net.Leaders(Org), Is.EqualTo(new[] { name }), net.Describe);

    [TestCase(1)]
    [TestCase(2)]
    public async Task TenPeersStartedTogether_TheLowestIdLeads_AndNobodyElseEver(int seed)
    {
        await using var net = new ChannelCluster(1, NetworkPolicy.Perfect(seed));
        var peers = StartOrg(net, 10);
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        var everLed = new HashSet<string>();
        for (int i = 0; i < 600; i++)
        {
            net.Run(TimeSpan.FromMilliseconds(50));
            everLed.UnionWith(net.Leaders(Org));
        }

        AssertOnlyLeader(net, "peer0.org1");
        Assert.That(everLed, Is.EquivalentTo(new[] { "peer0.org1" }), "nobody else ever led");
        Assert.That(peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 9), net.Describe);
    }

    [Test]
    public async Task PeersStartedOneByOne_TheFirstStartedStaysLeader()
    {
        await using var net = new ChannelCluster(1);
        // Highest PKI-ID first: the first started leads and a lower id arriving later does not take over.
        var first = net.Start(1, 4);
        net.Join(first);
        net.RunUntil(() => first.Node.IsLeader(ChannelCluster.Channel), Limit, net.Describe);
        for (int i = 3; i >= 0; i--)
        {
            var peer = net.Start(1, i, bootstrap: [4]);
            net.Run(TimeSpan.FromSeconds(1));
            net.Join(peer);
            net.Run(TimeSpan.FromSeconds(5));
            AssertOnlyLeader(net, "peer4.org1");
        }

        net.Run(TimeSpan.FromSeconds(20));
        AssertOnlyLeader(net, "peer4.org1");
    }

    [Test]
    public async Task TwoGroupsOfFourMerge_OneLeaderRemains_TheLowest()
    {
        await using var net = new ChannelCluster(1);
        var groupA = Enumerable.Range(0, 4).Select(i => net.Start(1, i, bootstrap: i == 0 ? [] : [0])).ToArray();
        var groupB = Enumerable.Range(4, 4).Select(i => net.Start(1, i, bootstrap: i == 4 ? [] : [4])).ToArray();
        net.RunUntil(() => groupA.Concat(groupB).All(p => p.Node.AliveCount == 3), Limit, net.Describe);
        foreach (var peer in groupA.Concat(groupB))
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders(Org).Length == 2, Limit, net.Describe);
        Assert.That(net.Leaders(Org), Is.EquivalentTo(new[] { "peer0.org1", "peer4.org1" }));

        // A bridge: peer4 learns of peer0 (a membership request), then membership and StateInfo spread.
        net.Peers[4].Node.Discovery!.SendMembershipRequest(ChannelCluster.EndpointOf(1, 0));
        net.RunUntil(() => net.Leaders(Org).Length == 1 && net.Peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 7), Limit, net.Describe);
        AssertOnlyLeader(net, "peer0.org1");
        Assert.That(net.Loggers.Lines.Count(l => l.Message.Contains("stepped down as leader", StringComparison.Ordinal)), Is.EqualTo(1));
    }

    [Test]
    public async Task LeaderStops_TheLowestRemainingLeadsWithinTheBound()
    {
        await using var net = new ChannelCluster(1);
        var peers = StartOrg(net, 5);
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders(Org).Length == 1 && peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 4), Limit, net.Describe);
        AssertOnlyLeader(net, "peer0.org1");
        await peers[0].Node.StopAsync();
        var took = net.RunUntil(() => net.Leaders(Org).Length == 1, Limit, net.Describe);
        AssertOnlyLeader(net, "peer1.org1");
        var bound = (2 * TimeSpan.FromSeconds(2)) + TimeSpan.FromSeconds(1);
        Assert.That(took, Is.LessThanOrEqualTo(bound + TimeSpan.FromMilliseconds(100)), "takeover within 2 x alive threshold + election duration");
    }

    [Test]
    public async Task SixIsolatedPeers_SixLeaders_HealedOne()
    {
        await using var net = new ChannelCluster(1);
        var peers = StartOrg(net, 6);
        foreach (var peer in peers)
        {
            net.Network.Disconnect(peer.Endpoint);
        }

        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders(Org).Length == 6, Limit, net.Describe);
        net.Network.Heal();
        net.RunUntil(() => net.Leaders(Org).Length == 1 && peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 5), TimeSpan.FromSeconds(60), net.Describe);
        AssertOnlyLeader(net, "peer0.org1");
        Assert.That(net.Loggers.Lines.Count(l => l.Message.Contains("stepped down as leader", StringComparison.Ordinal)), Is.EqualTo(5));
    }

    [Test]
    public async Task Yield_TheNextLowestLeads_AndTheYielderDoesNotTakeItBack()
    {
        await using var net = new ChannelCluster(1);
        var peers = StartOrg(net, 4);
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders(Org).Length == 1 && peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 3), Limit, net.Describe);
        AssertOnlyLeader(net, "peer0.org1");
        Assert.That(peers[1].Node.YieldLeadership(ChannelCluster.Channel), Is.False, "a follower cannot yield");
        Assert.That(peers[0].Node.YieldLeadership(ChannelCluster.Channel), Is.True);
        net.RunUntil(() => net.Leaders(Org).Length == 1 && net.Leaders(Org)[0] == "peer1.org1", Limit, net.Describe);
        for (int i = 0; i < 400; i++)
        {
            net.Run(TimeSpan.FromMilliseconds(50));
            AssertOnlyLeader(net, "peer1.org1");
        }
    }

    [Test]
    public async Task StaticLeader_LeadsAtOnce_StaticFollowersNever_AndBothModesAreRefused()
    {
        await using var net = new ChannelCluster(1, configure: o => o.Election.UseLeaderElection = false);
        var leader = net.Start(1, 1, configure: o => o.Election.OrgLeader = true);
        var follower = net.Start(1, 0, bootstrap: [1]);
        net.Join(leader);
        net.Join(follower);
        net.Run(TimeSpan.FromSeconds(10));
        AssertOnlyLeader(net, "peer1.org1");

        var both = new GossipOptions { OrgId = Org };
        both.Election.OrgLeader = true;
        var error = Assert.Throws<ArgumentException>(() => both.Validate());
        Assert.That(error!.Message, Does.Contain("useLeaderElection").And.Contain("orgLeader"));
    }
    [Test]
    public async Task AFollowerRestartedWithAnEmptyLedger_DoesNotBecomeASecondLeader()
    {
        await using var net = new ChannelCluster(1);
        var peers = Enumerable.Range(0, 5).Select(i => net.Start(1, i, bootstrap: i == 0 ? [] : [0])).ToList();
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders("Org1").Length == 1 && peers.All(p => p.Node.GetChannelView(ChannelCluster.Channel).Members.Count == 4), TimeSpan.FromSeconds(60), net.Describe);
        string leader = net.Leaders("Org1").Single();
        var follower = peers.First(p => p.Name != leader && p.Name != "peer0.org1");
        int index = int.Parse(follower.Name.AsSpan(4, 1));
        for (int b = 0; b < 10; b++)
        {
            net.Orderer.CutBlock(ChannelCluster.Channel, new byte[100]);
            net.Run(TimeSpan.FromMilliseconds(100));
        }

        var restarted = net.Restart(follower, 1, index, bootstrap: [0]);
        net.Join(restarted);
        for (int b = 0; b < 50; b++)
        {
            net.Orderer.CutBlock(ChannelCluster.Channel, new byte[100]);
            net.Run(TimeSpan.FromMilliseconds(200));
            Assert.That(net.Leaders("Org1"), Has.Length.LessThanOrEqualTo(1), $"after block {b}: {net.Describe()}");
        }

        Assert.That(net.Leaders("Org1"), Is.EqualTo(new[] { leader }));
        Assert.That(net.Orderer.Streams(ChannelCluster.Channel), Has.Count.EqualTo(1), "one delivery stream: the leader's");
    }
}
