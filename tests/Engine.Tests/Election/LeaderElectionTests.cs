using Engine.Election;
using Engine.Tests.Discovery;

namespace Engine.Tests.Election;

/// <summary>
/// Fabric's election scenarios on a virtual-time in-memory network with Fabric's default timings (grace 15 s, sample
/// 1 s, alive threshold 10 s, election 5 s). Frames take 5 ± 2.5 ms.
/// </summary>
[TestFixture]
public sealed class LeaderElectionTests
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(30);

    /// <summary>A frame's worst delay in the fixture, plus a little: the slack allowed on top of Fabric's bounds.</summary>
    private static readonly TimeSpan NetworkSlack = TimeSpan.FromMilliseconds(100);

    [Test]
    public void PeersStartedTogether_ElectExactlyTheLowestPkiId_AndKeepIt(
        [Values(1, 2, 3, 4)] int seed, [Values(2, 3, 5, 10, 20)] int peers)
    {
        var cluster = new ElectionCluster(seed);
        cluster.AddPeers(peers);

        cluster.Run(Converge);

        var lowest = ElectionCluster.Lowest(cluster.Peers);
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }), "one leader, the lowest PKI-ID");
        Assert.That(cluster.History, Has.Count.EqualTo(1), "nobody else ever led");

        cluster.Run(TimeSpan.FromMinutes(5));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }));
        Assert.That(cluster.History, Has.Count.EqualTo(1), "leadership is stable while connected");
        foreach (var peer in cluster.Peers.Where(p => p != lowest))
        {
            Assert.That(peer.Election().Phase, Is.EqualTo(ElectionPhase.Following));
        }
    }

    [Test]
    public void ElectionIsPerOrgAndPerChannel([Values(1, 7)] int seed)
    {
        var cluster = new ElectionCluster(seed);
        foreach (string org in new[] { "Org1", "Org2", "Org3" })
        {
            for (int i = 0; i < 5; i++)
            {
                cluster.AddPeer(org, channels: ["mychannel", "other"]);
            }
        }

        cluster.Run(Converge);

        foreach (string org in new[] { "Org1", "Org2", "Org3" })
        {
            var lowest = ElectionCluster.Lowest(cluster.Peers.Where(p => p.Org == org));
            Assert.That(cluster.Leaders(org, "mychannel"), Is.EqualTo(new[] { lowest }), $"{org} in mychannel");
            Assert.That(cluster.Leaders(org, "other"), Is.EqualTo(new[] { lowest }), $"{org} in other");
        }

        Assert.That(cluster.Peers.Sum(p => p.MalformedFrames), Is.Zero);
    }

    [Test]
    public void PeersStartedOneByOne_TheFirstStartedLeads([Values(1, 2, 3)] int seed)
    {
        var cluster = new ElectionCluster(seed);
        var ids = Enumerable.Range(0, 6).Select(i => new byte[32]).ToList();
        var random = new Random(seed);
        ids.ForEach(random.NextBytes);

        // Highest PKI-ID first: every later peer would win an election against the first, yet must not hold one.
        ids.Sort((a, b) => b.AsSpan().SequenceCompareTo(a));
        var first = cluster.AddPeer(pkiId: ids[0]);
        cluster.Run(TimeSpan.FromSeconds(10));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { first }));
        foreach (byte[] id in ids.Skip(1))
        {
            cluster.AddPeer(pkiId: id);
            cluster.Run(TimeSpan.FromSeconds(10));
        }

        cluster.Run(TimeSpan.FromMinutes(2));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { first }));
        Assert.That(cluster.History, Has.Count.EqualTo(1));
    }

    [Test]
    public void TwoGroupsMerge_TheLowestOfBothRemains_TheOtherStepsDown([Values(1, 2, 3, 4, 5)] int seed)
    {
        var loggers = new CapturingLoggerFactory();
        var cluster = new ElectionCluster(seed, loggers: loggers);
        var all = cluster.AddPeers(8);
        cluster.Network.Partition(all.Take(4).Select(p => p.Endpoint), all.Skip(4).Select(p => p.Endpoint));
        cluster.Run(Converge);
        var leaders = cluster.Leaders();
        Assert.That(leaders, Is.EquivalentTo(new[] { ElectionCluster.Lowest(all.Take(4)), ElectionCluster.Lowest(all.Skip(4)) }), "one leader per side");

        cluster.Network.Heal();
        cluster.Run(cluster.Options.LeaderAliveThreshold / 2 + NetworkSlack);

        var lowest = ElectionCluster.Lowest(all);
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }), "the surplus leader stepped down within one declaration period");
        var surplus = leaders.Single(p => p != lowest);
        Assert.That(loggers.Messages(6002), Has.One.EqualTo($"peer {surplus.Name} stepped down as leader of Org1 in mychannel: a peer with a lower PKI-ID declared itself leader"));

        cluster.Run(TimeSpan.FromMinutes(2));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }));
    }

    [Test]
    public void LeaderStops_TheLowestRemainingTakesOver_WithinFabricsBound([Values(1, 2, 3, 4, 5)] int seed, [Values(0, 1700, 4300)] int stopAfterMs)
    {
        var cluster = new ElectionCluster(seed);
        cluster.AddPeers(6);
        cluster.Run(Converge + TimeSpan.FromMilliseconds(stopAfterMs));
        var leader = cluster.Leaders().Single();

        leader.Stop();
        var stoppedAt = cluster.Time.GetUtcNow();
        var bound = cluster.Options.LeaderTakeoverBound + NetworkSlack;
        while (cluster.Leaders().Count == 0 && cluster.Time.GetUtcNow() - stoppedAt <= bound)
        {
            cluster.Run(TimeSpan.FromMilliseconds(50));
        }

        var remaining = cluster.Peers.Where(p => p.Running).ToList();
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { ElectionCluster.Lowest(remaining) }),
            $"a new leader within 2 x alive threshold + election duration ({bound}); waited {cluster.Time.GetUtcNow() - stoppedAt}");

        cluster.Run(TimeSpan.FromMinutes(2));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { ElectionCluster.Lowest(remaining) }));
    }

    [Test]
    public void PartitionOfSix_SixLeaders_HealLeavesOne([Values(1, 2, 3)] int seed)
    {
        var loggers = new CapturingLoggerFactory();
        var cluster = new ElectionCluster(seed, loggers: loggers);
        cluster.AddPeers(6);
        cluster.Run(Converge);
        Assert.That(cluster.Leaders(), Has.Count.EqualTo(1));

        foreach (var peer in cluster.Peers)
        {
            cluster.Network.Disconnect(peer.Endpoint);
        }

        cluster.Run(cluster.Options.LeaderTakeoverBound + NetworkSlack);
        Assert.That(cluster.Leaders(), Has.Count.EqualTo(6), "each isolated peer leads itself");

        cluster.Network.Heal();
        cluster.Run(cluster.Options.LeaderAliveThreshold / 2 + NetworkSlack);
        var lowest = ElectionCluster.Lowest(cluster.Peers);
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }));
        Assert.That(loggers.Messages(6002).Count(m => m.EndsWith("a peer with a lower PKI-ID declared itself leader", StringComparison.Ordinal)), Is.EqualTo(5));

        cluster.Run(TimeSpan.FromMinutes(2));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { lowest }));
    }

    [Test]
    public void Yield_TheLeaderStepsAside_TheNextLowestLeads_AndTheYielderStopsYielding([Values(1, 2, 3)] int seed)
    {
        var loggers = new CapturingLoggerFactory();
        var cluster = new ElectionCluster(seed, loggers: loggers);
        cluster.AddPeers(5);
        cluster.Run(Converge);
        var yielder = cluster.Leaders().Single();
        var follower = cluster.Peers.First(p => p != yielder);

        Assert.That(follower.Election().Yield(), Is.False, "a follower has nothing to yield");
        Assert.That(yielder.Election().Yield(), Is.True);
        Assert.That(yielder.Election().IsLeader, Is.False);
        Assert.That(yielder.Election().IsYielding, Is.True);
        Assert.That(yielder.Election().Yield(), Is.False, "already yielding");
        Assert.That(loggers.Messages(6002), Has.One.EqualTo($"peer {yielder.Name} stepped down as leader of Org1 in mychannel: yielded"));

        cluster.Run(cluster.Options.LeaderTakeoverBound + NetworkSlack);
        var next = ElectionCluster.Lowest(cluster.Peers.Where(p => p != yielder));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { next }));

        cluster.Run(cluster.Options.LeaderAliveThreshold + NetworkSlack);
        Assert.That(yielder.Election().IsYielding, Is.False, "a new leader declared, so the yield is over");

        cluster.Run(TimeSpan.FromMinutes(3));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { next }), "the yielder does not take leadership back while the new leader declares");
    }

    [Test]
    public void StaticMode_TheOrgLeaderLeadsAtOnce_FollowersNever_NoMessages()
    {
        var loggers = new CapturingLoggerFactory();
        var cluster = new ElectionCluster(3, loggers: loggers);
        var leader = cluster.AddPeer(options: new ElectionOptions { UseLeaderElection = false, OrgLeader = true });
        var followers = Enumerable.Range(0, 3).Select(_ => cluster.AddPeer(options: new ElectionOptions { UseLeaderElection = false })).ToList();

        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { leader }), "leader from the start, no grace period");
        cluster.Run(TimeSpan.FromMinutes(5));
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { leader }));
        Assert.That(cluster.History, Has.Count.EqualTo(1));
        foreach (var peer in cluster.Peers)
        {
            var stats = peer.Election().GetStatistics();
            Assert.That(stats.ProposalsSent + stats.DeclarationsSent, Is.Zero, "static mode sends nothing");
            Assert.That(peer.Election().Phase, Is.EqualTo(ElectionPhase.Static));
            Assert.That(peer.Election().Yield(), Is.False, "static leadership is not yielded");
        }

        Assert.That(loggers.Messages(6003), Has.One.EqualTo($"peer {leader.Name} is the static leader of Org1 in mychannel (orgLeader = true, election off)"));
        Assert.That(loggers.Messages(6004).Count(), Is.EqualTo(followers.Count));
    }

    [Test]
    public void BothModes_AreAConfigurationErrorAtStart_Logged()
    {
        var loggers = new CapturingLoggerFactory();
        var cluster = new ElectionCluster(1, loggers: loggers);
        var peer = cluster.AddPeer(options: new ElectionOptions { UseLeaderElection = true, OrgLeader = true }, start: false);

        var error = Assert.Throws<ArgumentException>(peer.Start);
        Assert.That(error!.Message, Does.Contain("UseLeaderElection").And.Contain("OrgLeader").And.Contain("not both"));
        Assert.That(error.ParamName, Is.EqualTo(nameof(ElectionOptions.OrgLeader)));
        Assert.That(loggers.Messages(6005).Single(), Does.StartWith($"Election of Org1 in mychannel at peer {peer.Name} refused to start: Election options UseLeaderElection"));
        Assert.That(peer.Election().IsLeader, Is.False);
    }

    [Test]
    public void Options_DefaultsAreFabrics_AndBadTimingsAreNamed()
    {
        var options = new ElectionOptions();
        Assert.Multiple(() =>
        {
            Assert.That(options.UseLeaderElection, Is.True);
            Assert.That(options.OrgLeader, Is.False);
            Assert.That(options.StartupGracePeriod, Is.EqualTo(TimeSpan.FromSeconds(15)));
            Assert.That(options.MembershipSampleInterval, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(options.LeaderAliveThreshold, Is.EqualTo(TimeSpan.FromSeconds(10)));
            Assert.That(options.LeaderElectionDuration, Is.EqualTo(TimeSpan.FromSeconds(5)));
            Assert.That(options.LeaderTakeoverBound, Is.EqualTo(TimeSpan.FromSeconds(25)));
        });
        options.Validate();

        var bad = new ElectionOptions { LeaderAliveThreshold = TimeSpan.Zero };
        var error = Assert.Throws<ArgumentException>(bad.Validate);
        Assert.That(error!.Message, Does.Contain("LeaderAliveThreshold must be positive, was 00:00:00"));
    }

    [Test]
    public void MessagesFromOutsideTheView_AndFromSelf_AreIgnored()
    {
        var cluster = new ElectionCluster(5);
        var peers = cluster.AddPeers(3);
        cluster.Run(Converge);
        var follower = peers.First(p => !p.Election().IsLeader);
        var before = follower.Election().GetStatistics();

        // A declaration from a PKI-ID lower than everyone's but unknown to the view (another org, a stranger): no effect.
        follower.Election().HandleMessage(new byte[32], isDeclaration: true);
        follower.Election().HandleMessage(follower.PkiId, isDeclaration: true);
        var leader = cluster.Leaders().Single();
        Assert.That(leader.Election().IsLeader, Is.True);
        leader.Election().HandleMessage(new byte[32], isDeclaration: true);
        Assert.That(leader.Election().IsLeader, Is.True, "a stranger's lower declaration does not depose the leader");

        var after = follower.Election().GetStatistics();
        Assert.That(after.MessagesIgnored - before.MessagesIgnored, Is.EqualTo(2));
    }

    [Test]
    public void LeaderRestartsWithTheSameId_TakesLeadershipBack()
    {
        var cluster = new ElectionCluster(11);
        cluster.AddPeers(4);
        cluster.Run(Converge);
        var lowest = cluster.Leaders().Single();

        lowest.Stop();
        cluster.Run(cluster.Options.LeaderTakeoverBound + NetworkSlack);
        var interim = cluster.Leaders().Single();
        Assert.That(interim, Is.Not.EqualTo(lowest));

        lowest.Start();
        cluster.Run(TimeSpan.FromMinutes(1));

        // The restarted peer hears the interim leader's declarations and follows (Fabric: a living leader is not challenged).
        Assert.That(cluster.Leaders(), Is.EqualTo(new[] { interim }));
    }
}
