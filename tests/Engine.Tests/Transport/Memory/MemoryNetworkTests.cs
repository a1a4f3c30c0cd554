using System.Buffers.Binary;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Transport.Memory;

public sealed class MemoryNetworkTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    private static byte[] Id(int id)
    {
        var body = new byte[8];
        BinaryPrimitives.WriteInt32BigEndian(body, id);
        return body;
    }

    private static int IdOf(byte[] body) => BinaryPrimitives.ReadInt32BigEndian(body);

    /// <summary>A network on virtual time with started nodes that all record into one trace.</summary>
    private sealed class Harness
    {
        public Harness(NetworkPolicy policy, int nodes)
        {
            Network = new MemoryNetwork(policy, Time);
            for (int i = 0; i < nodes; i++)
            {
                var node = Network.CreateTransport();
                node.StartAsync(new TraceHandler(node.LocalEndpoint, Time, Trace)).AsTask().GetAwaiter().GetResult();
                Nodes.Add(node);
            }
        }

        public VirtualTimeProvider Time { get; } = new();

        public MemoryNetwork Network { get; }

        public List<MemoryTransport> Nodes { get; } = [];

        public List<TraceEntry> Trace { get; } = [];

        public PeerEndpoint this[int index] => Nodes[index].LocalEndpoint;

        public List<TraceEntry> Received(string kind, int node) =>
            Trace.Where(e => e.Kind == kind && e.Node == this[node]).ToList();
    }

    [Test]
    public void PerfectNetwork_DeliversEveryDatagramAndFrame_IntactAndFromTheRightSource()
    {
        var h = new Harness(NetworkPolicy.Perfect(), 2);

        for (int i = 0; i < 100; i++)
        {
            Assert.That(h.Nodes[0].SendDatagram(h[1], Id(i)), Is.EqualTo(SendStatus.Sent));
            Assert.That(h.Nodes[0].SendFrame(h[1], Id(1000 + i)), Is.EqualTo(SendStatus.Sent));
        }

        Assert.That(h.Trace, Is.Empty, "nothing arrives before time runs, not even with zero delay");
        h.Time.RunUntilIdle(int.MaxValue);

        var datagrams = h.Received("datagram", 1);
        var frames = h.Received("frame", 1);
        Assert.Multiple(() =>
        {
            Assert.That(datagrams.Select(e => IdOf(e.Body)), Is.EqualTo(Enumerable.Range(0, 100)));
            Assert.That(frames.Select(e => IdOf(e.Body)), Is.EqualTo(Enumerable.Range(1000, 100)));
            Assert.That(h.Trace.All(e => e.Peer == h[0] && e.Body.Length == 8), Is.True);
            var sent = h.Nodes[0].Stats;
            var got = h.Nodes[1].Stats;
            Assert.That((sent.DatagramsSent, sent.FramesSent, sent.DatagramsDropped), Is.EqualTo((100L, 100L, 0L)));
            Assert.That((got.DatagramsDelivered, got.FramesDelivered), Is.EqualTo((100L, 100L)));
            Assert.That(sent.DatagramBytesSent, Is.EqualTo(100L * (DatagramHeader.Size + 8)));
            Assert.That(got.FrameBytesDelivered, Is.EqualTo(100L * (FrameHeader.Size + 8)));
            Assert.That(h.Network.Stats.DatagramsDelivered, Is.EqualTo(100));
        });
    }

    private static List<int> DeliveredIdsWithDrop(int seed, double probability, int count)
    {
        var h = new Harness(new NetworkPolicy { Seed = seed, DropProbability = probability }, 2);
        for (int i = 0; i < count; i++)
        {
            h.Nodes[0].SendDatagram(h[1], Id(i));
        }

        h.Time.RunUntilIdle(int.MaxValue);
        Assert.That(h.Network.Stats.DatagramsDropped + h.Network.Stats.DatagramsDelivered, Is.EqualTo(count));
        return h.Received("datagram", 1).Select(e => IdOf(e.Body)).ToList();
    }

    [Test]
    public void DropProbability_LosesAboutThatShare_AndTheSameSeedLosesTheSameDatagrams()
    {
        const int Count = 20_000;
        var first = DeliveredIdsWithDrop(seed: 42, probability: 0.2, Count);
        var again = DeliveredIdsWithDrop(seed: 42, probability: 0.2, Count);
        var otherSeed = DeliveredIdsWithDrop(seed: 43, probability: 0.2, Count);

        // Binomial(20,000, 0.8): mean 16,000, standard deviation ~57; 400 is seven deviations.
        Assert.That(first, Has.Count.InRange(15_600, 16_400));
        Assert.That(again, Is.EqualTo(first));
        Assert.That(otherSeed, Is.Not.EqualTo(first));
        Assert.That(DeliveredIdsWithDrop(seed: 42, probability: 0, 1000), Has.Count.EqualTo(1000));
        Assert.That(DeliveredIdsWithDrop(seed: 42, probability: 1, 1000), Is.Empty);
    }

    [Test]
    public void DelayAndJitter_PlaceEveryDeliveryInsideTheRange_InVirtualTime()
    {
        var h = new Harness(new NetworkPolicy { Seed = 5, Delay = Ms(10), Jitter = Ms(5) }, 2);
        for (int i = 0; i < 1000; i++)
        {
            h.Nodes[0].SendDatagram(h[1], Id(i));
            h.Nodes[0].SendFrame(h[1], Id(i));
        }

        h.Time.Advance(Ms(10) - TimeSpan.FromTicks(1));
        Assert.That(h.Trace, Is.Empty, "nothing arrives before the fixed delay");
        h.Time.Advance(Ms(5) + TimeSpan.FromTicks(1));
        Assert.That(h.Time.PendingEvents, Is.Zero, "everything arrives by delay + jitter");

        var datagramTimes = h.Received("datagram", 1).Select(e => e.At).ToList();
        var frameTimes = h.Received("frame", 1).Select(e => e.At).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(datagramTimes, Has.Count.EqualTo(1000).And.All.InRange(Ms(10), Ms(15)));
            Assert.That(frameTimes, Has.Count.EqualTo(1000).And.All.InRange(Ms(10), Ms(15)));
            // The jitter is really spread over the range, not a constant.
            Assert.That(datagramTimes.Min(), Is.LessThan(Ms(10.1)));
            Assert.That(datagramTimes.Max(), Is.GreaterThan(Ms(14.9)));
            Assert.That(datagramTimes.Distinct().Count(), Is.GreaterThan(900));
        });
    }

    [Test]
    public void DuplicateProbability_DeliversSomeDatagramsTwice_NeverFrames()
    {
        var h = new Harness(new NetworkPolicy { Seed = 9, DuplicateProbability = 0.3, Jitter = Ms(3) }, 2);
        for (int i = 0; i < 10_000; i++)
        {
            h.Nodes[0].SendDatagram(h[1], Id(i));
        }

        for (int i = 0; i < 1000; i++)
        {
            h.Nodes[0].SendFrame(h[1], Id(i));
        }

        h.Time.RunUntilIdle(int.MaxValue);

        var copies = h.Received("datagram", 1).GroupBy(e => IdOf(e.Body)).ToDictionary(g => g.Key, g => g.Count());
        int duplicated = copies.Values.Count(c => c == 2);
        Assert.Multiple(() =>
        {
            Assert.That(copies.Keys.Order(), Is.EqualTo(Enumerable.Range(0, 10_000)), "every datagram arrives at least once");
            Assert.That(copies.Values.Max(), Is.EqualTo(2));
            Assert.That(duplicated, Is.InRange(2_800, 3_200)); // Binomial(10,000, 0.3): sd ~46
            Assert.That(h.Network.Stats.DatagramsDuplicated, Is.EqualTo(duplicated));
            Assert.That(h.Nodes[1].Stats.DatagramsDelivered, Is.EqualTo(10_000 + duplicated));
            Assert.That(h.Received("frame", 1).Select(e => IdOf(e.Body)), Is.EqualTo(Enumerable.Range(0, 1000)));
        });
    }

    [Test]
    public void Partition_BlocksDatagramsAndFramesBothWays_AndHealRestoresThem()
    {
        var h = new Harness(new NetworkPolicy { Delay = Ms(1) }, 3);
        h.Network.Partition([h[0]], [h[1]]);

        h.Nodes[0].SendDatagram(h[1], Id(1));
        h.Nodes[1].SendDatagram(h[0], Id(2));
        var firstFrame = h.Nodes[0].SendFrame(h[1], Id(3));
        h.Nodes[0].SendDatagram(h[2], Id(4)); // node 2 is on neither side
        h.Time.Advance(Ms(10));

        Assert.Multiple(() =>
        {
            Assert.That(firstFrame, Is.EqualTo(SendStatus.Sent), "like a TCP connect, the failure is reported later");
            Assert.That(h.Received("datagram", 1), Is.Empty);
            Assert.That(h.Received("datagram", 0), Is.Empty);
            Assert.That(h.Received("frame", 1), Is.Empty);
            Assert.That(h.Received("datagram", 2).Select(e => IdOf(e.Body)), Is.EqualTo((int[])[4]));
            var lost = h.Received("lost", 0).Single();
            Assert.That(lost.Peer, Is.EqualTo(h[1]));
            Assert.That(lost.Reason, Does.Contain("partition"));
            Assert.That(h.Nodes[0].SendFrame(h[1], Id(5)), Is.EqualTo(SendStatus.Unreachable));
            Assert.That(h.Nodes[1].SendFrame(h[0], Id(6)), Is.EqualTo(SendStatus.Sent));
            Assert.That(h.Network.CanReach(h[0], h[1]), Is.False);
            Assert.That(h.Network.CanReach(h[0], h[2]), Is.True);
        });

        h.Time.Advance(Ms(10));
        Assert.That(h.Received("lost", 1).Single().Peer, Is.EqualTo(h[0]));
        h.Network.Heal();

        Assert.That(h.Nodes[0].SendFrame(h[1], Id(7)), Is.EqualTo(SendStatus.Sent));
        h.Nodes[1].SendDatagram(h[0], Id(8));
        h.Time.Advance(Ms(10));
        Assert.Multiple(() =>
        {
            Assert.That(h.Received("frame", 1).Select(e => IdOf(e.Body)), Is.EqualTo((int[])[7]));
            Assert.That(h.Received("datagram", 0).Select(e => IdOf(e.Body)), Is.EqualTo((int[])[8]));
            Assert.That(h.Nodes[0].Stats.FramesDropped, Is.EqualTo(2), "the frame lost with the connection and the one refused");
        });
    }

    [Test]
    public void AStreamThatFailed_DoesNotReconnectBeforeTheFailureIsReported()
    {
        var h = new Harness(new NetworkPolicy { Delay = Ms(5) }, 2);
        h.Network.Partition([h[0]], [h[1]]);
        Assert.That(h.Nodes[0].SendFrame(h[1], Id(1)), Is.EqualTo(SendStatus.Sent));
        h.Network.Heal();

        Assert.That(h.Nodes[0].SendFrame(h[1], Id(2)), Is.EqualTo(SendStatus.Unreachable), "still backing off");
        h.Time.Advance(Ms(5));
        Assert.That(h.Received("lost", 0), Has.Count.EqualTo(1));
        Assert.That(h.Nodes[0].SendFrame(h[1], Id(3)), Is.EqualTo(SendStatus.Sent));
        h.Time.Advance(Ms(5));

        Assert.That(h.Received("frame", 1).Select(e => IdOf(e.Body)), Is.EqualTo((int[])[3]));
        Assert.That(h.Received("lost", 0), Has.Count.EqualTo(1));
    }

    [Test]
    public void PartitionStartingWhileFramesAreInFlight_DropsThem_AndReportsTheLostConnection()
    {
        var h = new Harness(new NetworkPolicy { Delay = Ms(5) }, 2);
        h.Nodes[0].SendFrame(h[1], Id(1));
        h.Nodes[0].SendFrame(h[1], Id(2));
        h.Nodes[0].SendDatagram(h[1], Id(3));

        h.Time.Advance(Ms(2));
        h.Network.Partition([h[0]], [h[1]]);
        h.Time.Advance(Ms(10));

        Assert.Multiple(() =>
        {
            Assert.That(h.Received("frame", 1), Is.Empty);
            Assert.That(h.Received("datagram", 1), Is.Empty);
            Assert.That(h.Received("lost", 0), Has.Count.EqualTo(1), "one lost connection, not one per frame");
            Assert.That(h.Received("lost", 0)[0].At, Is.EqualTo(Ms(5)));
            Assert.That(h.Nodes[0].Stats.FramesDropped, Is.EqualTo(2));
        });
    }

    [Test]
    public void Disconnect_IsolatesOneNode_AndReconnect_BringsItBack()
    {
        var h = new Harness(NetworkPolicy.Perfect(), 3);
        h.Network.Disconnect(h[2]);

        h.Nodes[0].SendDatagram(h[1], Id(1));
        h.Nodes[0].SendDatagram(h[2], Id(2));
        h.Nodes[2].SendDatagram(h[1], Id(3));
        h.Time.RunUntilIdle(100);
        Assert.That(h.Trace.Select(e => IdOf(e.Body)), Is.EqualTo((int[])[1]));

        h.Network.Reconnect(h[2]);
        h.Nodes[2].SendDatagram(h[1], Id(4));
        h.Time.RunUntilIdle(100);
        Assert.That(h.Trace.Select(e => IdOf(e.Body)), Is.EqualTo((int[])[1, 4]));
    }

    [Test]
    public void Frames_StayInOrderPerPair_EvenWithJitterThatReordersDatagrams()
    {
        var h = new Harness(new NetworkPolicy { Seed = 11, Delay = Ms(1), Jitter = Ms(50) }, 3);
        for (int i = 0; i < 1000; i++)
        {
            h.Nodes[0].SendFrame(h[2], Id(i));
            h.Nodes[1].SendFrame(h[2], Id(i));
            h.Nodes[0].SendDatagram(h[2], Id(i));
            if (i % 100 == 0)
            {
                h.Time.Advance(Ms(3)); // let some arrive while later ones are being sent
            }
        }

        h.Time.RunUntilIdle(int.MaxValue);

        var frames = h.Received("frame", 2);
        var datagrams = h.Received("datagram", 2).Select(e => IdOf(e.Body)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(frames.Where(e => e.Peer == h[0]).Select(e => IdOf(e.Body)), Is.EqualTo(Enumerable.Range(0, 1000)));
            Assert.That(frames.Where(e => e.Peer == h[1]).Select(e => IdOf(e.Body)), Is.EqualTo(Enumerable.Range(0, 1000)));
            // The same jitter does reorder datagrams, so the frame order above is the stream's doing, not luck.
            Assert.That(datagrams, Is.Not.Ordered);
            Assert.That(datagrams.Order(), Is.EqualTo(Enumerable.Range(0, 1000)));
        });
    }

    private static List<TraceEntry> RunScenario(int seed)
    {
        var h = new Harness(new NetworkPolicy { Seed = seed, DropProbability = 0.1, DuplicateProbability = 0.05, Delay = Ms(2), Jitter = Ms(8) }, 20);
        var traffic = new Random(1000); // the workload is fixed; only the network's seed varies
        for (int step = 0; step < 2000; step++)
        {
            int from = traffic.Next(20);
            int to = traffic.Next(20);
            if (traffic.Next(4) == 0)
            {
                h.Nodes[from].SendFrame(h[to], Id(step));
            }
            else
            {
                h.Nodes[from].SendDatagram(h[to], Id(step));
            }

            if (step == 1000)
            {
                h.Network.Partition(h.Nodes.Take(5).Select(n => n.LocalEndpoint), h.Nodes.Skip(15).Select(n => n.LocalEndpoint));
            }

            h.Time.Advance(Ms(traffic.Next(3)));
        }

        h.Time.RunUntilIdle(int.MaxValue);
        return h.Trace;
    }

    [Test]
    public void SameSeed_GivesAnIdenticalDeliveryTrace()
    {
        var first = RunScenario(seed: 77);
        var second = RunScenario(seed: 77);
        var other = RunScenario(seed: 78);

        Assert.That(first, Has.Count.GreaterThan(1500));
        Assert.That(first.Any(e => e.Kind == "lost"), Is.True);
        Assert.That(second.Select(Describe), Is.EqualTo(first.Select(Describe)));
        Assert.That(other.Select(Describe), Is.Not.EqualTo(first.Select(Describe)));

        static string Describe(TraceEntry e) => $"{e.At.Ticks} {e.Kind} {e.Node} {e.Peer} {Convert.ToHexString(e.Body)} {e.Reason}";
    }

    [Test]
    public async Task SizeLimits_AndLifecycle_MatchTheSocketTransport()
    {
        var time = new VirtualTimeProvider();
        var network = new MemoryNetwork(NetworkPolicy.Perfect(), time);
        var options = new TransportOptions { MaxDatagramPayload = 100, MaxFramePayload = 2048 };
        var a = network.CreateTransport(options);
        var b = network.CreateTransport(options);
        var trace = new List<TraceEntry>();

        Assert.That(a.SendDatagram(b.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Closed), "not started");
        await a.StartAsync(new TraceHandler(a.LocalEndpoint, time, trace));
        await b.StartAsync(new TraceHandler(b.LocalEndpoint, time, trace));

        Assert.Multiple(() =>
        {
            Assert.That(a.MaxDatagramPayload, Is.EqualTo(100));
            Assert.That(a.SendDatagram(b.LocalEndpoint, new byte[101]), Is.EqualTo(SendStatus.TooLarge));
            Assert.That(a.SendFrame(b.LocalEndpoint, new byte[2049]), Is.EqualTo(SendStatus.TooLarge));
            Assert.That(a.SendDatagram(b.LocalEndpoint, new byte[100]), Is.EqualTo(SendStatus.Sent));
            Assert.That(a.SendFrame(b.LocalEndpoint, new byte[2048]), Is.EqualTo(SendStatus.Sent));
            Assert.That(a.Stats.DatagramsSent + a.Stats.FramesSent, Is.EqualTo(2), "refused sends are not counted as sent");
            Assert.That(() => a.SendDatagram(b.LocalEndpoint, []), Throws.ArgumentException);
        });

        time.RunUntilIdle(100);
        Assert.That(trace.Select(e => e.Body.Length), Is.EqualTo((int[])[100, 2048]));

        await a.DisposeAsync();
        Assert.That(a.SendDatagram(b.LocalEndpoint, [1]), Is.EqualTo(SendStatus.Closed));
        Assert.That(network.NodeCount, Is.EqualTo(1));
        Assert.That(network.TryGetTransport(b.LocalEndpoint, out var found) && ReferenceEquals(found, b), Is.True);
    }

    [Test]
    public void DeliveryToANodeThatStoppedMeanwhile_IsDropped_AndFramesToItFailTheStream()
    {
        var h = new Harness(new NetworkPolicy { Delay = Ms(5) }, 2);
        h.Nodes[0].SendDatagram(h[1], Id(1));
        h.Nodes[0].SendFrame(h[1], Id(2));

        h.Nodes[1].DisposeAsync().AsTask().GetAwaiter().GetResult();
        h.Time.Advance(Ms(10));

        Assert.Multiple(() =>
        {
            Assert.That(h.Trace.Where(e => e.Kind != "lost"), Is.Empty);
            Assert.That(h.Received("lost", 0).Single().Reason, Does.Contain("refused"));
            Assert.That(h.Nodes[0].Stats.DatagramsDropped, Is.EqualTo(1));
            Assert.That(h.Nodes[0].SendFrame(h[1], Id(3)), Is.EqualTo(SendStatus.Unreachable));
            Assert.That(h.Nodes[0].SendDatagram(h[1], Id(4)), Is.EqualTo(SendStatus.Sent), "datagrams to nowhere vanish silently, as with UDP");
        });
    }

    [Test]
    public void AutomaticEndpoints_AreDistinctTenDotAddresses_AndAnEndpointCannotBeTakenTwice()
    {
        var network = new MemoryNetwork(NetworkPolicy.Perfect(), new VirtualTimeProvider());
        var first = network.CreateTransport();
        var second = network.CreateTransport();

        Assert.That(first.LocalEndpoint, Is.EqualTo(PeerEndpoint.Parse("10.0.0.1:7051")));
        Assert.That(second.LocalEndpoint, Is.EqualTo(PeerEndpoint.Parse("10.0.0.2:7051")));
        Assert.Throws<InvalidOperationException>(() => network.CreateTransport(first.LocalEndpoint));
        var explicitNode = network.CreateTransport(PeerEndpoint.Parse("10.0.0.3:7051"));
        Assert.That(network.CreateTransport().LocalEndpoint, Is.EqualTo(PeerEndpoint.Parse("10.0.0.4:7051")), "skips taken addresses");
        Assert.That(explicitNode.LocalEndpoint.Port, Is.EqualTo(7051));
    }

    [Test]
    public void HandlerThatThrows_IsCountedAndDoesNotStopDelivery()
    {
        var time = new VirtualTimeProvider();
        var network = new MemoryNetwork(NetworkPolicy.Perfect(), time);
        var a = network.CreateTransport();
        var b = network.CreateTransport();
        var trace = new List<TraceEntry>();
        a.StartAsync(new TraceHandler(a.LocalEndpoint, time, trace)).AsTask().GetAwaiter().GetResult();
        b.StartAsync(new TraceHandler(b.LocalEndpoint, time, trace)
        {
            OnDatagramReceived = (_, body) =>
            {
                if (body[0] == 1)
                {
                    throw new InvalidOperationException("boom");
                }
            },
        }).AsTask().GetAwaiter().GetResult();

        a.SendDatagram(b.LocalEndpoint, [1]);
        a.SendDatagram(b.LocalEndpoint, [2]);
        time.RunUntilIdle(10);

        Assert.That(trace.Select(e => e.Body[0]), Is.EqualTo(new byte[] { 1, 2 }));
        Assert.That(b.Stats.HandlerErrors, Is.EqualTo(1));
    }

    [Test]
    public void TenThousandNodes_ExchangeAMillionDatagrams()
    {
        const int Nodes = 10_000;
        const int PerNode = 100;
        var time = new VirtualTimeProvider();
        var network = new MemoryNetwork(new NetworkPolicy { Seed = 3, DropProbability = 0.01, Delay = Ms(1), Jitter = Ms(20) }, time);
        var counter = new CountingHandler();
        var nodes = new MemoryTransport[Nodes];
        for (int i = 0; i < Nodes; i++)
        {
            nodes[i] = network.CreateTransport();
            nodes[i].StartAsync(counter).AsTask().GetAwaiter().GetResult();
        }

        var random = new Random(8);
        var body = new byte[64];
        for (int round = 0; round < PerNode; round++)
        {
            for (int i = 0; i < Nodes; i++)
            {
                nodes[i].SendDatagram(nodes[random.Next(Nodes)].LocalEndpoint, body);
            }

            if (round % 10 == 9)
            {
                nodes[round].SendFrame(nodes[round + 1].LocalEndpoint, body);
                time.Advance(Ms(5));
            }
        }

        time.RunUntilIdle(int.MaxValue);

        var stats = network.Stats;
        Assert.Multiple(() =>
        {
            Assert.That(stats.DatagramsSent, Is.EqualTo((long)Nodes * PerNode));
            Assert.That(stats.DatagramsDelivered + stats.DatagramsDropped, Is.EqualTo(stats.DatagramsSent));
            Assert.That(stats.DatagramsDropped, Is.InRange(9_000, 11_000));
            Assert.That(counter.Datagrams, Is.EqualTo(stats.DatagramsDelivered));
            Assert.That(counter.Frames, Is.EqualTo(10));
            Assert.That(nodes.Sum(n => n.Stats.DatagramBytesSent), Is.EqualTo(stats.DatagramBytesSent));
        });
    }

    private sealed class CountingHandler : ITransportHandler
    {
        public long Datagrams { get; private set; }

        public long Frames { get; private set; }

        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload) => Datagrams++;

        public void OnFrame(PeerEndpoint source, in System.Buffers.ReadOnlySequence<byte> payload) => Frames++;

        public void OnConnectionLost(PeerEndpoint peer, string reason) => throw new InvalidOperationException(reason);
    }
}
