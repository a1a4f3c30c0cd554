using Engine.Gossip;
using Engine.Node;
using Engine.Protocol;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Node;

/// <summary>
/// Lazy push through whole nodes on the in-memory network in virtual time: announcements repair what push missed without
/// waiting for pull, and hostile Announce/Want input is bounded, refused and counted.
/// </summary>
public class NodeLazyPushTests
{
    private static NodeDisseminationTests.Cluster PushOnly(int fanout, int lazy) => new(configure: o =>
    {
        o.Dissemination = DisseminationMode.PushOnly;
        o.PropagatePeerNum = fanout;
        o.LazyPushPeerNum = lazy;
    });

    private static void PublishTwenty(NodeDisseminationTests.Cluster cluster)
    {
        var random = new Random(5);
        for (int m = 0; m < 20; m++)
        {
            cluster.Publish(random.Next(cluster.Nodes.Count), m);
            cluster.Time.Advance(TimeSpan.FromMilliseconds(3));
        }
    }

    [Test]
    public void PushAloneWithFanoutTwoMissesPeers_AnnouncementsRepairEveryMiss_WithoutPull()
    {
        // Fanout 2 alone: a peer misses a message with probability about e^-2 (13%).
        var without = PushOnly(fanout: 2, lazy: 0);
        without.StartMany(30, seed: 3);
        without.RunUntil(without.Converged, TimeSpan.FromSeconds(60), () => "membership did not converge");
        PublishTwenty(without);
        without.Time.Advance(TimeSpan.FromSeconds(5));
        int missed = Enumerable.Range(0, without.Nodes.Count).Sum(without.Missing);
        Assert.That(missed, Is.GreaterThan(0), "push alone at fanout 2 leaves peers without some messages");
        Assert.That(without.Nodes.Sum(n => n.GetStatistics().LazyAnnounced), Is.Zero, "lazy push off announces nothing");
        without.StopAll();

        // The same network with 8 announcements per message: everything arrives, no pull runs.
        var with = PushOnly(fanout: 2, lazy: 8);
        with.StartMany(30, seed: 3);
        with.RunUntil(with.Converged, TimeSpan.FromSeconds(60), () => "membership did not converge");
        PublishTwenty(with);
        var took = with.RunUntil(with.Complete, TimeSpan.FromSeconds(2), with.Describe);
        with.Time.Advance(TimeSpan.FromSeconds(2)); // late answers must not deliver anything twice
        with.AssertExactlyOnce();
        var stats = with.Nodes.Select(n => n.GetStatistics()).ToList();
        Assert.That(stats.Sum(s => s.MessagesPulled), Is.Zero, "pull is off");
        Assert.That(stats.Sum(s => s.LazyWanted), Is.GreaterThan(0), "some peers had to ask");
        Assert.That(stats.Sum(s => s.LazyServed), Is.GreaterThanOrEqualTo(stats.Sum(s => s.LazyWanted) * 9 / 10), "asked messages were served");
        Assert.That(took, Is.LessThan(TimeSpan.FromMilliseconds(500)), "repair within a few grace periods, not a pull interval");
        Assert.That(with.Nodes.Sum(n => n.Lazy!.WaitingCount), Is.Zero, "nothing waits once everything arrived");
        with.StopAll();
    }

    [Test]
    public void HostileAnnouncesAndWants_AreBoundedRefusedAndCounted_AndChangeNothing()
    {
        var cluster = PushOnly(fanout: 3, lazy: 3);
        cluster.StartMany(3, seed: 1);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(30), () => "membership did not converge");
        cluster.Publish(0, 1);
        cluster.RunUntil(cluster.Complete, TimeSpan.FromSeconds(5), cluster.Describe);
        var target = cluster.Nodes[1];
        var lazy = target.Lazy!;
        var before = lazy.GetStatistics();

        var attackerEndpoint = PeerEndpoint.FromIPv4(0x0A00_0063u, 7051);
        var received = new List<byte[]>();
        var attacker = cluster.Network.CreateTransport(attackerEndpoint);
        attacker.StartAsync(new Recorder(received)).AsTask().GetAwaiter().GetResult();

        // 1. An Announce flood of 10,000 unknown messages: at most MaxWaiting (4,096) wait; the rest are dropped and counted.
        var origin = new byte[32];
        int sentDigests = 0;
        while (sentDigests < 10_000)
        {
            var body = new byte[1200];
            int written = 0;
            var digest = new byte[MessageId.MaxDigestLength];
            while (sentDigests < 10_000)
            {
                var id = MessageId.ForAppData(origin, 7, (ulong)sentDigests + 1);
                int length = id.WriteDigest(digest);
                if (!DigestListCodec.AppendDigest(body, ref written, digest.AsSpan(0, length)))
                {
                    break;
                }

                sentDigests++;
            }

            SendEnvelope(attacker, target.Endpoint, EnvelopeView.AnnounceContent, body.AsSpan(0, written));
        }

        cluster.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.That(lazy.WaitingCount, Is.EqualTo(4096), "the waiting table is bounded");
        var flooded = lazy.GetStatistics();
        Assert.That(flooded.WaitingDropped - before.WaitingDropped, Is.EqualTo(10_000 - 4096));
        cluster.Time.Advance(TimeSpan.FromMilliseconds(100));
        Assert.That(received, Is.Not.Empty, "due announcements were asked for");
        Assert.That(lazy.WaitingCount, Is.EqualTo(4096), "asked messages are remembered (ForgetAfter, 2 s): announcing them again asks nobody");
        cluster.Time.Advance(TimeSpan.FromMilliseconds(2000));
        Assert.That(lazy.WaitingCount, Is.Zero, "then forgotten");
        Assert.That(received, Is.Not.Empty, "the Wants went to the announcer");

        // 2. A Want naming 40 messages (short origins, so they fit one datagram): 32 are looked at; the rest are refused.
        var shortOrigin = new byte[] { 7 };
        Span<byte> one = stackalloc byte[MessageId.MaxDigestLength];
        var smallWant = new byte[1200];
        int smallWritten = 0;
        for (int i = 0; i < 40; i++)
        {
            int length = MessageId.ForAppData(shortOrigin, 9, (ulong)i + 1).WriteDigest(one);
            if (!DigestListCodec.AppendDigest(smallWant, ref smallWritten, one[..length]))
            {
                Assert.Fail("40 short digests fit one datagram");
            }
        }

        SendEnvelope(attacker, target.Endpoint, EnvelopeView.WantContent, smallWant.AsSpan(0, smallWritten));
        cluster.Time.Advance(TimeSpan.FromMilliseconds(10));
        var wanted = lazy.GetStatistics();
        Assert.That(wanted.NotHeld - flooded.NotHeld, Is.EqualTo(32), "32 looked at, none held");
        Assert.That(wanted.Refused - flooded.Refused, Is.EqualTo(1), "the rest refused");
        Assert.That(wanted.Served, Is.EqualTo(flooded.Served), "nothing served that is not held");

        // 3. Malformed Announce and Want bodies, and an Announce of a kind lazy push does not carry.
        SendEnvelope(attacker, target.Endpoint, EnvelopeView.AnnounceContent, [0x0A, 0x7F, 1, 2]);
        SendEnvelope(attacker, target.Endpoint, EnvelopeView.WantContent, [0x0A, 0x05]);
        int stateLength = MessageId.ForPeer(MessageKind.StateInfo, "ch"u8, [1, 2, 3], new Engine.Membership.PeerTime(1, 1)).WriteDigest(one);
        var stateBody = new byte[200];
        int stateWritten = 0;
        DigestListCodec.AppendDigest(stateBody, ref stateWritten, one[..stateLength]);
        SendEnvelope(attacker, target.Endpoint, EnvelopeView.AnnounceContent, stateBody.AsSpan(0, stateWritten));
        cluster.Time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.That(lazy.GetStatistics().Malformed - wanted.Malformed, Is.EqualTo(3));

        // A block Announce goes to the channels' lazy repair; a peer in no channel counts it as unhandled.
        long unhandled = target.Discovery!.Counters.Unhandled;
        int blockLength = MessageId.ForBlock("ch"u8, 5).WriteDigest(one);
        var blockBody = new byte[200];
        int blockWritten = 0;
        DigestListCodec.AppendDigest(blockBody, ref blockWritten, one[..blockLength]);
        SendEnvelope(attacker, target.Endpoint, EnvelopeView.AnnounceContent, blockBody.AsSpan(0, blockWritten));
        cluster.Time.Advance(TimeSpan.FromMilliseconds(10));
        Assert.That(target.Discovery!.Counters.Unhandled - unhandled, Is.EqualTo(1));
        Assert.That(lazy.WaitingCount, Is.Zero, "the node's lazy repair did not take it");

        // Nothing the attacker did changed what the peers hold or see.
        cluster.Time.Advance(TimeSpan.FromSeconds(1));
        cluster.AssertExactlyOnce();
        Assert.That(cluster.Nodes.All(n => n.GetStatistics().StoredMessages == 1), Is.True);
        attacker.DisposeAsync().AsTask().GetAwaiter().GetResult();
        cluster.StopAll();
    }

    private static void SendEnvelope(MemoryTransport from, PeerEndpoint to, int content, ReadOnlySpan<byte> body)
    {
        var envelope = new byte[DigestListCodec.EnvelopeSize(content, body.Length)];
        DigestListCodec.Write(envelope, content, body);
        var datagram = new byte[envelope.Length + 8];
        int written = 0;
        Assert.That(EnvelopeBatch.TryAppend(datagram, ref written, envelope), Is.True);
        Assert.That(from.SendDatagram(to, datagram.AsSpan(0, written)), Is.EqualTo(SendStatus.Sent));
    }

    private sealed class Recorder(List<byte[]> received) : ITransportHandler
    {
        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
            lock (received)
            {
                received.Add(payload.ToArray());
            }
        }

        public void OnFrame(PeerEndpoint source, in System.Buffers.ReadOnlySequence<byte> payload)
        {
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }
}
