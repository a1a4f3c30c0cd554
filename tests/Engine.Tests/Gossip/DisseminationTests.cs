using Engine.Transport.Memory;

namespace Engine.Tests.Gossip;

/// <summary>Push and pull over a virtual-time in-memory network: delivery, duplicates, loss, late joiners.</summary>
public class DisseminationTests
{
    private static void AssertEveryPeerHasEveryBlockOnce(GossipCluster cluster, int blocks)
    {
        foreach (var peer in cluster.Peers)
        {
            Assert.That(peer.DeliveredCount, Is.EqualTo(blocks), $"peer {peer.Index} ({peer.Endpoint}) is missing blocks");
            Assert.That(peer.Delivered.Values.All(n => n == 1), Is.True, $"peer {peer.Index} delivered a block twice");
        }
    }

    private static void PublishFromRandomPeers(GossipCluster cluster, int blocks, int seed, TimeSpan? spacing = null)
    {
        var random = new Random(seed);
        for (int b = 0; b < blocks; b++)
        {
            var peer = cluster.Peers[random.Next(cluster.Peers.Count)];
            Assert.That(peer.Publish((ulong)b), Is.EqualTo(Engine.Gossip.ReceiveOutcome.Accepted));
            if (spacing is { } gap)
            {
                cluster.Run(gap);
            }
        }
    }

    [Test]
    public void PushOnlyDelivers100MessagesTo50Peers()
    {
        // Push alone is an epidemic: with effective fanout f a peer misses a message with probability about e^-f, so
        // push-only delivery of 5,000 (message, peer) pairs needs f well above 3: 4 peers in each of 4 rounds.
        var cluster = new GossipCluster(push: true, pull: false, configurePush: o =>
        {
            o.PeerNum = 4;
            o.Iterations = 4;
        });
        cluster.AddPeers(50);
        PublishFromRandomPeers(cluster, 100, seed: 5, spacing: TimeSpan.FromMilliseconds(1));
        var took = cluster.RunUntilComplete(100, TimeSpan.FromSeconds(5), TimeSpan.FromMilliseconds(10));
        AssertEveryPeerHasEveryBlockOnce(cluster, 100);
        Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(1)));

        long duplicates = cluster.Peers.Sum(p => p.Disseminator.GetStatistics().Duplicates);
        long copies = cluster.Peers.Sum(p => p.Copies.Count);
        Assert.That(duplicates, Is.EqualTo(copies - (50 * 100 - 100)), "every copy after the first is a counted duplicate");
        Assert.That(cluster.Peers.Sum(p => p.PullEngine is null ? 0 : 1), Is.Zero);
    }

    [Test]
    public void PullOnlyDelivers100MessagesTo50Peers()
    {
        var cluster = new GossipCluster(push: false, pull: true);
        cluster.AddPeers(50);
        PublishFromRandomPeers(cluster, 100, seed: 6);
        Assert.That(cluster.Peers.Sum(p => p.DeliveredCount), Is.EqualTo(100), "without push only the publishers hold the blocks");

        var took = cluster.RunUntilComplete(100, TimeSpan.FromSeconds(30), TimeSpan.FromMilliseconds(100));
        AssertEveryPeerHasEveryBlockOnce(cluster, 100);

        // Each round a peer merges what 3 random peers hold: spread is exponential, about log3(50) + a few rounds.
        TestContext.Out.WriteLine($"pull-only: complete after {took.TotalSeconds:F1} s of 1 s rounds");
        Assert.That(took, Is.LessThanOrEqualTo(TimeSpan.FromSeconds(10)));
        var stats = cluster.Peers.Select(p => p.PullEngine!.GetStatistics()).ToList();
        Assert.That(stats.Sum(s => s.UnknownNonce + s.MismatchedSender + s.Unrequested + s.BadItems), Is.Zero, "honest peers trigger no drop");
        Assert.That(stats.Sum(s => s.ItemsReceived), Is.EqualTo(50 * 100 - 100), "every pulled item was requested once and arrived once");
    }

    [Test]
    public void PullCatchesUpPeersSpawnedOneByOne()
    {
        // Fabric's pull test shape: peers spawned 50 ms apart, each must end with every item.
        var cluster = new GossipCluster(push: false, pull: true, seed: 2);
        var first = cluster.AddPeer();
        for (int b = 0; b < 100; b++)
        {
            first.Publish((ulong)b);
        }

        for (int i = 1; i < 10; i++)
        {
            cluster.Run(TimeSpan.FromMilliseconds(50));
            cluster.AddPeer();
        }

        cluster.RunUntilComplete(100, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        AssertEveryPeerHasEveryBlockOnce(cluster, 100);
    }

    [Test]
    public void ManyInitiatorsAtOnceEachGetEverything()
    {
        var cluster = new GossipCluster(push: false, pull: true, configurePull: o => o.PeerNum = 1);
        var holder = cluster.AddPeer();
        for (int b = 0; b < 100; b++)
        {
            holder.Publish((ulong)b);
        }

        // Five peers that know only the holder start their rounds at the same instant.
        var others = Enumerable.Range(0, 5).Select(_ => new GossipPeer(cluster, cluster.Peers.Count + 100, 77)).ToList();
        foreach (var peer in others)
        {
            peer.Learn(holder);
            holder.Learn(peer);
            peer.Start();
            cluster.Peers.Add(peer);
        }

        foreach (var peer in others)
        {
            peer.PullEngine!.StartRound();
        }

        cluster.Run(TimeSpan.FromMilliseconds(400));
        AssertEveryPeerHasEveryBlockOnce(cluster, 100);
        var served = holder.PullEngine!.GetStatistics();
        Assert.That((served.HellosAnswered, served.RequestsAnswered, served.ItemsSent), Is.EqualTo((5L, 5L, 500L)));
    }

    [Test]
    public void PushAndPullDeliverEverythingDespite20PercentDatagramLoss()
    {
        var policy = new NetworkPolicy { Seed = 9, DropProbability = 0.2, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(2) };
        var cluster = new GossipCluster(push: true, pull: true, policy: policy, seed: 9);
        cluster.AddPeers(30);
        PublishFromRandomPeers(cluster, 100, seed: 10, spacing: TimeSpan.FromMilliseconds(2));
        cluster.RunUntilComplete(100, TimeSpan.FromSeconds(20), TimeSpan.FromMilliseconds(100));
        AssertEveryPeerHasEveryBlockOnce(cluster, 100);
        Assert.That(cluster.Peers.Sum(p => p.Disseminator.GetStatistics().Pulled), Is.GreaterThan(0), "pull repaired what push lost");
    }

    [Test]
    public void AReceiverNeverForwardsBackToItsSender()
    {
        // Three peers that all know each other, fanout 2 = "everyone else": the publisher's copies reach both others,
        // and each of them may forward only to the third peer, never back to the publisher.
        var cluster = new GossipCluster(push: true, pull: false, configurePush: o => o.PeerNum = 2);
        cluster.AddPeers(3);
        var (a, b, c) = (cluster.Peers[0], cluster.Peers[1], cluster.Peers[2]);
        for (int m = 0; m < 20; m++)
        {
            a.Publish((ulong)m);
        }

        cluster.Run(TimeSpan.FromMilliseconds(100));
        AssertEveryPeerHasEveryBlockOnce(cluster, 20);
        Assert.That(a.Copies, Is.Empty, "nothing came back to the publisher");
        Assert.That(b.Copies.Count(x => x.Source == c.Endpoint), Is.EqualTo(20));
        Assert.That(c.Copies.Count(x => x.Source == b.Endpoint), Is.EqualTo(20));
        Assert.That(b.Disseminator.GetStatistics().Duplicates + c.Disseminator.GetStatistics().Duplicates, Is.EqualTo(40));
    }
}
