// Expected values are written inline, as the scenarios read; the arrays are built once per assertion.
#pragma warning disable CA1861
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Channels;

/// <summary>Org boundaries, anchors, the no-bootstrap variant and block delivery under loss, through whole nodes (in-memory, virtual time).</summary>
[TestFixture]
public sealed class CrossOrgTests
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(40);
    private const string Channel = ChannelCluster.Channel;

    [Test]
    public async Task BootstrapPeerOfAnotherOrg_IsRefused_WithALogLine_AndNothingIsLearnedFromIt()
    {
        await using var net = new ChannelCluster(2);
        var org2 = net.Start(2, 0);
        net.Start(2, 1, bootstrap: [0]);
        var p = net.Start(1, 0, configure: o => o.BootstrapPeers.Add(ChannelCluster.EndpointOf(2, 0)));
        net.Run(TimeSpan.FromSeconds(5));
        Assert.That(net.Loggers.Lines.Any(l => l.EventId == 3030 && l.Message.Contains("is of Org2, not of this peer's org Org1", StringComparison.Ordinal)),
            Is.True, "the refusal is logged");
        Assert.That(p.Node.GetMembership().Alive.Any(m => m.Endpoint == ChannelCluster.EndpointOf(2, 1)), Is.False,
            "the other org's peers are not learned through a bootstrap peer");
        _ = org2;
    }

    [Test]
    public async Task WithoutAnchors_AnOrgNeverLearnsAnotherOrgsPeers()
    {
        await using var net = new ChannelCluster(2);
        foreach (int org in new[] { 1, 2 })
        {
            net.Start(org, 0);
            net.Start(org, 1, bootstrap: [0]);
        }

        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        net.Run(TimeSpan.FromSeconds(30));
        foreach (var peer in net.Peers)
        {
            Assert.That(peer.Node.GetMembership().Alive.Select(m => m.Org), Is.All.EqualTo(peer.Org), peer.Name);
            Assert.That(peer.Node.GetChannelView(Channel).Members.Select(m => m.Org), Is.All.EqualTo(peer.Org), peer.Name);
        }
    }

    [Test]
    public async Task TwoOrgsOfTen_WithFabricsExpiryRatio_NoRunningPeerIsDeclaredDead()
    {
        // Heartbeats every 500 ms, dead after 5 silent intervals (Fabric's 5 s / 25 s ratio). A peer forwards a heartbeat
        // to 3 random members of both orgs; when the other org could not send an org's heartbeat back into it, the org's
        // heartbeats spread inside it with half the fanout and org mates declared each other dead by the dozen.
        await using var net = new ChannelCluster(2);
        foreach (int org in new[] { 1, 2 })
        {
            net.Start(org, 0, configure: o => o.AliveExpirationTimeout = TimeSpan.FromMilliseconds(2500));
            for (int i = 1; i < 10; i++)
            {
                net.Start(org, i, bootstrap: [0], configure: o => o.AliveExpirationTimeout = TimeSpan.FromMilliseconds(2500));
            }
        }

        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        net.Orderer.UpdateAnchors(Channel, "Org1", [ChannelCluster.EndpointOf(1, 0)]);
        net.Orderer.UpdateAnchors(Channel, "Org2", [ChannelCluster.EndpointOf(2, 0)]);
        net.RunUntil(() => net.Peers.All(p => p.Node.GetMembership().Alive.Count == 19), Limit, net.Describe);

        var deaths = new List<string>();
        foreach (var peer in net.Peers)
        {
            peer.Node.MembershipChanged += e =>
            {
                if (e.State == Engine.Membership.MemberState.Dead)
                {
                    deaths.Add($"{peer.Name} declared {e.Endpoint} dead");
                }
            };
        }

        net.Run(TimeSpan.FromMinutes(2));
        Assert.That(deaths, Is.Empty);
        Assert.That(net.Peers.All(p => p.Node.GetMembership().Alive.Count == 19), Is.True, net.Describe);
    }

    [Test]
    public async Task InternalEndpoints_NeverReachAnotherOrg_AndPeersWithoutExternalEndpointStayInvisible()
    {
        await using var net = new ChannelCluster(2);
        // Org1: peer0 is the anchor (external endpoint); peer1 has an external endpoint; peer2 has none.
        net.Start(1, 0);
        net.Start(1, 1, bootstrap: [0]);
        net.Start(1, 2, bootstrap: [0], external: false);
        net.Start(2, 0);
        net.Start(2, 1, bootstrap: [0]);
        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        net.Orderer.UpdateAnchors(Channel, "Org1", [ChannelCluster.EndpointOf(1, 0)]);
        net.Orderer.UpdateAnchors(Channel, "Org2", [ChannelCluster.EndpointOf(2, 0)]);
        net.RunUntil(() => net.P(2, 0).Node.GetChannelView(Channel).Members.Count(m => m.Org == "Org1") == 2
            && net.P(2, 1).Node.GetChannelView(Channel).Members.Count(m => m.Org == "Org1") == 2, Limit, net.Describe);
        net.Run(TimeSpan.FromSeconds(20));

        var hidden = ChannelCluster.EndpointOf(1, 2);
        foreach (var peer in net.Peers.Where(p => p.Org == "Org2"))
        {
            var members = new List<Engine.Membership.Member>();
            foreach (var member in peer.Node.Membership!)
            {
                members.Add(member);
            }

            Assert.That(members.Any(m => m.Endpoint == hidden || m.PkiId.SequenceEqual(new byte[] { 1, 2 })), Is.False,
                $"{peer.Name} never learns the Org1 peer without an external endpoint");
            Assert.That(members.Where(m => m.Org == "Org1").Select(m => m.InternalEndpoint), Is.All.EqualTo(default(PeerEndpoint)),
                $"{peer.Name} never receives an internal endpoint of Org1");
            Assert.That(members.Where(m => m.Org == "Org1").Select(m => m.Endpoint),
                Is.EquivalentTo(new[] { ChannelCluster.EndpointOf(1, 0), ChannelCluster.EndpointOf(1, 1) }));
        }

        // Inside Org1 the peer without an external endpoint is known to everyone.
        Assert.That(net.P(1, 0).Node.GetChannelView(Channel).Members.Any(m => m.Endpoint == hidden), Is.True);
    }

    [Test]
    public async Task AnchorThatAppearsLate_IsRetried_AndTheOrgsLearnEachOther()
    {
        await using var net = new ChannelCluster(2, anchorsInGenesis: true);
        net.Start(1, 0);
        net.Start(1, 1, bootstrap: [0]);
        foreach (var peer in net.Peers.ToArray())
        {
            net.Join(peer);
        }

        // Org2's anchor (named in block #0) is down for 10 s; Org1 keeps trying it.
        net.Run(TimeSpan.FromSeconds(10));
        Assert.That(net.P(1, 0).Node.GetMembership().Alive.Any(m => m.Org == "Org2"), Is.False);
        net.Start(2, 0);
        net.Start(2, 1, bootstrap: [0]);
        net.Join(net.P(2, 0));
        net.Join(net.P(2, 1));
        net.RunUntil(() => net.Peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 3), Limit, net.Describe);
        Assert.That(net.Loggers.Lines.Any(l => l.EventId == 3032), Is.True, "an anchor answered (logged)");
    }

    [Test]
    public async Task NoBootstrap_EveryPeerFirstLeads_AfterTheAnchorUpdatesOnePerOrgRemains()
    {
        await using var net = new ChannelCluster(2);
        foreach (int org in new[] { 1, 2 })
        {
            net.Start(org, 0);
            net.Start(org, 1);
        }

        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Peers.All(p => p.Node.IsLeader(Channel)), Limit, net.Describe);
        net.Orderer.UpdateAnchors(Channel, "Org1", [ChannelCluster.EndpointOf(1, 0)]);
        net.Orderer.UpdateAnchors(Channel, "Org2", [ChannelCluster.EndpointOf(2, 0)]);
        net.RunUntil(() => net.Leaders("Org1").Length == 1 && net.Leaders("Org2").Length == 1
            && net.Peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 3), Limit, net.Describe);
        Assert.That(net.Leaders("Org1"), Is.EqualTo(new[] { "peer0.org1" }));
        Assert.That(net.Leaders("Org2"), Is.EqualTo(new[] { "peer0.org2" }));

        // And from then on the orderer serves one peer per org.
        while (net.Deliveries.TryDequeue(out _))
        {
        }

        ulong number = net.Orderer.CutBlock(Channel, [9]);
        net.RunUntil(() => net.Peers.All(p => p.Node.GetLedgerHeight(Channel) == number + 1), Limit, net.Describe);
        Assert.That(net.Deliveries.Count(d => d.Block == number), Is.EqualTo(2));
    }

    [Test]
    public async Task Blocks_With10PercentDatagramLoss_AreAllCommittedInOrder_EverywhereInBothOrgs()
    {
        var policy = NetworkPolicy.Perfect(11);
        policy.DropProbability = 0.10;
        // Push to one peer per hop: about one copy of each block reaches a peer, so datagram loss leaves gaps for pull.
        await using var net = new ChannelCluster(2, policy, o => o.PropagatePeerNum = 1, anchorsInGenesis: true);
        foreach (int org in new[] { 1, 2 })
        {
            for (int i = 0; i < 5; i++)
            {
                net.Start(org, i, bootstrap: i == 0 ? [] : [0]);
            }
        }

        foreach (var peer in net.Peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders("Org1").Length == 1 && net.Leaders("Org2").Length == 1
            && net.Peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 9), TimeSpan.FromSeconds(60), net.Describe);
        // 5 blocks/s: the window (10 blocks = 2 s) outlasts a pull round (1 s + waits), so a block push missed is still
        // held by the org's peers when pull asks for it.
        const int blocks = 100;
        for (int b = 0; b < blocks; b++)
        {
            net.Orderer.CutBlock(Channel, new byte[200 + (b % 7)]);
            net.Run(TimeSpan.FromMilliseconds(200));
        }

        net.RunUntil(() => net.Peers.All(p => p.Node.GetLedgerHeight(Channel) == blocks + 1), TimeSpan.FromSeconds(60), net.Describe);
        foreach (var peer in net.Peers)
        {
            Assert.That(peer.Commits.Select(c => c.Number), Is.EqualTo(Enumerable.Range(0, blocks + 1).Select(i => (ulong)i)), peer.Name);
        }

        var stats = net.Peers.Select(p => p.Node.GetBlockStatistics(Channel)).ToArray();
        Assert.That(stats.Sum(s => s.GapRequests), Is.GreaterThan(0), "push lost blocks: the peers asked for the gaps");
        Assert.That(stats.Sum(s => s.BlocksServed + s.PullRepaired), Is.GreaterThan(0), "and got them from a window (state request or pull)");
        var perBlock = net.Deliveries.Where(d => d.Block >= 1).GroupBy(d => d.Block).Select(g => g.Count()).ToArray();
        Assert.That(perBlock, Has.Length.EqualTo(blocks));
        Assert.That(perBlock, Is.All.EqualTo(2), "each block delivered to the two leaders only");
    }

    [Test]
    public async Task FollowerThatMissedTheLastBlocks_PullsThemFromItsOrg()
    {
        await using var net = new ChannelCluster(1);
        var peers = Enumerable.Range(0, 4).Select(i => net.Start(1, i, bootstrap: i == 0 ? [] : [0])).ToArray();
        foreach (var peer in peers)
        {
            net.Join(peer);
        }

        net.RunUntil(() => net.Leaders("Org1").Length == 1 && peers.All(p => p.Node.GetChannelView(Channel).Members.Count == 3), Limit, net.Describe);
        var follower = peers[3];
        net.Network.Disconnect(follower.Endpoint);
        for (int b = 0; b < 5; b++)
        {
            net.Orderer.CutBlock(Channel, [(byte)b]);
            net.Run(TimeSpan.FromMilliseconds(100));
        }

        // No block comes after these: nothing reveals a gap to the follower; only pull (every 1 s) brings them.
        net.Network.Reconnect(follower.Endpoint);
        net.RunUntil(() => follower.Node.GetLedgerHeight(Channel) == 6, Limit, net.Describe);
        Assert.That(follower.Node.GetBlockStatistics(Channel).PullRepaired, Is.EqualTo(5));
        Assert.That(follower.Commits.Select(c => c.Number), Is.EqualTo(new ulong[] { 0, 1, 2, 3, 4, 5 }));
    }
}
