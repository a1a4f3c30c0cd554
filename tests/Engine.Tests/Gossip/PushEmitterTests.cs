using Engine.Transport;

namespace Engine.Tests.Gossip;

/// <summary>The emitter's batching: flush on burst size, on the latency tick, iterations, datagram packing, frames for large messages.</summary>
public class PushEmitterTests
{
    private static (GossipCluster Cluster, GossipPeer Sender) FourPeers(Action<Engine.Gossip.PushOptions>? configure = null)
    {
        var cluster = new GossipCluster(push: true, pull: false, configurePush: configure ?? (o => o.PeerNum = 3));
        cluster.AddPeers(4);
        return (cluster, cluster.Peers[0]);
    }

    [Test]
    public void FlushesAtBurstSizeAtOnceAndOtherwiseOnTheLatencyTick()
    {
        var (cluster, sender) = FourPeers();
        cluster.Run(TimeSpan.FromMilliseconds(5)); // idle: the latency timer is not armed
        for (ulong m = 0; m < 9; m++)
        {
            sender.Publish(m);
        }

        Assert.That(sender.Transport.Stats.DatagramsSent, Is.Zero, "9 < burst size: waiting for the tick");
        Assert.That(sender.Emitter!.PendingCount, Is.EqualTo(9));
        cluster.Run(TimeSpan.FromMilliseconds(9));
        Assert.That(sender.Transport.Stats.DatagramsSent, Is.Zero, "the first waiting message armed the tick for one burst latency");
        cluster.Run(TimeSpan.FromMilliseconds(1));
        Assert.That(sender.Emitter.PendingCount, Is.Zero);
        Assert.That(sender.Transport.Stats.DatagramsSent, Is.EqualTo(3), "9 messages to the same 3 peers: one datagram each");

        for (ulong m = 100; m < 110; m++)
        {
            sender.Publish(m);
        }

        Assert.That(sender.Transport.Stats.DatagramsSent, Is.EqualTo(6), "the 10th message flushed at once, without time passing");
        var stats = sender.Emitter.GetStatistics();
        Assert.That((stats.FlushesByTimer, stats.FlushesBySize, stats.Copies), Is.EqualTo((1L, 1L, 57L)));
    }

    [Test]
    public void FlushWhenIdle_SendsAMessageThatFindsTheEmitterIdleAtOnce_AndBatchesTheRestOnTheTick()
    {
        var (cluster, sender) = FourPeers(o =>
        {
            o.PeerNum = 3;
            o.FlushWhenIdle = true;
        });
        cluster.Run(TimeSpan.FromMilliseconds(25)); // idle for longer than the burst latency
        sender.Publish(1);
        Assert.That(sender.Transport.Stats.DatagramsSent, Is.EqualTo(3), "idle: out at once, without time passing");
        Assert.That(sender.Emitter!.PendingCount, Is.Zero);

        for (ulong m = 2; m <= 5; m++)
        {
            sender.Publish(m);
        }

        Assert.That(sender.Transport.Stats.DatagramsSent, Is.EqualTo(3), "within a burst latency of that flush: batched");
        Assert.That(sender.Emitter.PendingCount, Is.EqualTo(4));
        cluster.Run(TimeSpan.FromMilliseconds(10));
        Assert.That(sender.Emitter.PendingCount, Is.Zero, "the tick flushed the batch");
        Assert.That(sender.Transport.Stats.DatagramsSent, Is.EqualTo(6), "4 messages to the same 3 peers: one datagram each");
        var stats = sender.Emitter.GetStatistics();
        Assert.That((stats.FlushesWhenIdle, stats.FlushesByTimer), Is.EqualTo((1L, 1L)));
    }

    [Test]
    public void AnIdleEmitter_ArmsNoTimer_AndAWaitingMessageArmsItOnce()
    {
        var time = new Engine.Transport.Memory.VirtualTimeProvider();
        var members = new Engine.Membership.MembershipTable(new Engine.Membership.MembershipOptions(), time, new Random(1));
        using var emitter = new Engine.Gossip.PushEmitter(new Engine.Gossip.PushOptions { FlushWhenIdle = false }, new Engine.Tests.Transport.RecordingTransport(), members, time);
        emitter.Start();

        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(time.EventsRun, Is.Zero, "nothing waits: no latency tick runs");

        Assert.That(emitter.Add([1, 2, 3], default), Is.True);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.That(time.EventsRun, Is.EqualTo(1), "one tick flushed the message (to nobody: no members), then nothing was armed");
        Assert.That(emitter.PendingCount, Is.Zero);
    }

    [Test]
    public void EachMessageIsPushedForItsIterations()
    {
        var (cluster, sender) = FourPeers(o =>
        {
            o.PeerNum = 1;
            o.Iterations = 3;
        });
        sender.Publish(1);
        cluster.Run(TimeSpan.FromMilliseconds(10));
        Assert.That(sender.Emitter!.PendingCount, Is.EqualTo(1));
        cluster.Run(TimeSpan.FromMilliseconds(20));
        Assert.That(sender.Emitter.PendingCount, Is.Zero);
        Assert.That(sender.Emitter.GetStatistics().Copies, Is.EqualTo(3));
    }

    [Test]
    public void MessagesTooLargeForADatagramGoAsFrames()
    {
        var (cluster, sender) = FourPeers();
        int max = sender.Transport.MaxDatagramPayload;
        sender.Publish(1, dataBytes: max);   // cannot fit a datagram
        sender.Publish(2, dataBytes: 700);   // two of these do not fit one datagram together
        sender.Publish(3, dataBytes: 700);
        sender.Emitter!.Flush();
        var stats = sender.Emitter.GetStatistics();
        Assert.That((stats.Frames, stats.Datagrams), Is.EqualTo((3L, 6L)));
        cluster.Run(TimeSpan.FromMilliseconds(50));
        foreach (var peer in cluster.Peers)
        {
            Assert.That(peer.Delivered.Keys, Is.EquivalentTo(new ulong[] { 1, 2, 3 }));
        }
    }

    [Test]
    public void AFullEmitterDropsAndCounts()
    {
        var (_, sender) = FourPeers(o =>
        {
            o.MaxPendingBytes = 1000;
            o.BurstSize = 100;
        });
        for (ulong m = 0; m < 20; m++)
        {
            sender.Publish(m, dataBytes: 100);
        }

        var stats = sender.Emitter!.GetStatistics();
        Assert.That(stats.DroppedFull, Is.GreaterThan(0));
        Assert.That(stats.Queued + stats.DroppedFull, Is.EqualTo(20));
    }

    [Test]
    public void AlonePeerDropsWithNoPeersCounted()
    {
        var cluster = new GossipCluster(push: true, pull: false);
        var alone = cluster.AddPeer();
        alone.Publish(1);
        cluster.Run(TimeSpan.FromMilliseconds(10));
        Assert.That(alone.Emitter!.GetStatistics().NoPeers, Is.EqualTo(1));
        Assert.That(alone.Transport.Stats.DatagramsSent, Is.Zero);
        Assert.That(alone.Transport.LocalEndpoint, Is.Not.EqualTo(default(PeerEndpoint)));
    }
}
