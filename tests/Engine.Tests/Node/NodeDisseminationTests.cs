using System.Collections.Concurrent;
using Engine.Node;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Node;

/// <summary>
/// Application data through whole <see cref="GossipNode"/>s (discovery, push emitter, store, pull engine) on the
/// in-memory network in virtual time: deterministic for a seed, never sleeping.
/// </summary>
public class NodeDisseminationTests
{
    internal sealed class Cluster
    {
        private readonly Action<GossipOptions>? _configure;
        private int _corrupt;

        public Cluster(NetworkPolicy? policy = null, Action<GossipOptions>? configure = null)
        {
            Network = new MemoryNetwork(policy ?? NetworkPolicy.Perfect(), Time);
            _configure = configure;
        }

        public VirtualTimeProvider Time { get; } = new();

        public MemoryNetwork Network { get; }

        public List<GossipNode> Nodes { get; } = [];

        /// <summary>Per node: how many times each (origin, sequence) reached the application.</summary>
        public List<ConcurrentDictionary<(string Origin, ulong Sequence), int>> Received { get; } = [];

        /// <summary>Every message published, with its data.</summary>
        public Dictionary<GossipMessageId, byte[]> Published { get; } = [];

        public static PeerEndpoint EndpointOf(int i) => PeerEndpoint.FromIPv4(0x0A00_0001u + (uint)i, 7051);

        public GossipNode Start(int bootstrap = -1)
        {
            int i = Nodes.Count;
            var options = new GossipOptions
            {
                OrgId = "Org1",
                Endpoint = EndpointOf(i),
                AliveTimeInterval = TimeSpan.FromMilliseconds(500),
                AliveExpirationTimeout = TimeSpan.FromSeconds(5),
                ReconnectInterval = TimeSpan.FromSeconds(2),
                BootstrapRetryInterval = TimeSpan.FromMilliseconds(500),
                PullInterval = TimeSpan.FromSeconds(1),
                DigestWaitTime = TimeSpan.FromMilliseconds(100),
                RequestWaitTime = TimeSpan.FromMilliseconds(300),
                ResponseWaitTime = TimeSpan.FromMilliseconds(200),
            };
            if (bootstrap >= 0)
            {
                options.BootstrapPeers.Add(EndpointOf(bootstrap));
            }

            _configure?.Invoke(options);
            var node = new GossipNode(options, Network.CreateTransport(EndpointOf(i)), new GossipNodeContext { Time = Time, Seed = 100 + i });
            var received = new ConcurrentDictionary<(string, ulong), int>();
            var published = Published;
            node.MessageReceived += (in ReceivedMessage m) =>
            {
                var id = m.Id;
                received.AddOrUpdate((id.Origin, id.Sequence), 1, (_, n) => n + 1);
                lock (published)
                {
                    // Recorded, not asserted: the node catches (and logs) whatever a handler throws.
                    if (!published.TryGetValue(id, out var data) || !m.Data.SequenceEqual(data))
                    {
                        Interlocked.Increment(ref _corrupt);
                    }
                }
            };
            node.StartAsync().AsTask().GetAwaiter().GetResult();
            Nodes.Add(node);
            Received.Add(received);
            return node;
        }

        public void StartMany(int count, int seed)
        {
            var random = new Random(seed);
            for (int i = 0; i < count; i++)
            {
                Start(Nodes.Count == 0 ? -1 : random.Next(Nodes.Count));
            }
        }

        public GossipMessageId Publish(int node, int index)
        {
            var data = new byte[40 + (index % 64)];
            BitConverter.TryWriteBytes(data, index);
            data.AsSpan(4).Fill((byte)index);
            var id = Nodes[node].Publish(data);
            lock (Published)
            {
                Published.Add(id, data);
            }

            return id;
        }

        /// <summary>Advances virtual time in 50 ms steps until <paramref name="condition"/> holds; fails past <paramref name="limit"/>.</summary>
        public TimeSpan RunUntil(Func<bool> condition, TimeSpan limit, Func<string> what)
        {
            var start = Time.GetUtcNow();
            while (!condition())
            {
                if (Time.GetUtcNow() - start >= limit)
                {
                    Assert.Fail($"not within {limit} of virtual time: {what()}");
                }

                Time.Advance(TimeSpan.FromMilliseconds(50));
            }

            return Time.GetUtcNow() - start;
        }

        public bool Converged() => Nodes.All(n => n.AliveCount == Nodes.Count - 1);

        /// <summary>Messages published by others that node <paramref name="i"/> has not received.</summary>
        public int Missing(int i)
        {
            string self = Convert.ToHexStringLower(Nodes[i].PkiId.Span);
            return Published.Keys.Count(id => id.Origin != self && !Received[i].ContainsKey((id.Origin, id.Sequence)));
        }

        public bool Complete() => Enumerable.Range(0, Nodes.Count).All(i => Missing(i) == 0);

        public void AssertExactlyOnce()
        {
            Assert.That(Volatile.Read(ref _corrupt), Is.Zero, "a delivered message's bytes differ from the published bytes");
            for (int i = 0; i < Nodes.Count; i++)
            {
                string self = Convert.ToHexStringLower(Nodes[i].PkiId.Span);
                int expected = Published.Keys.Count(id => id.Origin != self);
                Assert.That(Received[i].Count, Is.EqualTo(expected), $"node {i} received a different set of messages");
                Assert.That(Received[i].Values.All(n => n == 1), Is.True, $"node {i} got a message twice");
                Assert.That(Received[i].Keys.Any(k => k.Origin == self), Is.False, $"node {i} was handed its own message");
                Assert.That(Nodes[i].GetStatistics().MessagesDelivered, Is.EqualTo(expected));
            }
        }

        public string Describe() => string.Join(", ", Enumerable.Range(0, Nodes.Count).Select(i => $"node {i} misses {Missing(i)}"));

        public void StopAll()
        {
            foreach (var node in Nodes)
            {
                node.StopAsync().AsTask().GetAwaiter().GetResult();
            }
        }
    }

    [Test]
    public void PushAndPull_With20PercentLoss_DeliverEveryMessageToEveryApplicationExactlyOnce()
    {
        var policy = new NetworkPolicy { Seed = 4, DropProbability = 0.2, Delay = TimeSpan.FromMilliseconds(1), Jitter = TimeSpan.FromMilliseconds(2) };
        var cluster = new Cluster(policy);
        cluster.StartMany(30, seed: 4);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(60), () => "membership did not converge");

        var random = new Random(8);
        for (int m = 0; m < 100; m++)
        {
            cluster.Publish(random.Next(cluster.Nodes.Count), m);
            cluster.Time.Advance(TimeSpan.FromMilliseconds(2));
        }

        cluster.RunUntil(cluster.Complete, TimeSpan.FromSeconds(30), cluster.Describe);
        cluster.Time.Advance(TimeSpan.FromSeconds(3)); // later copies and pull rounds must not deliver anything twice
        cluster.AssertExactlyOnce();

        var stats = cluster.Nodes.Select(n => n.GetStatistics()).ToList();
        Assert.That(stats.Sum(s => s.MessagesPublished), Is.EqualTo(100));
        Assert.That(stats.Sum(s => s.MessagesPulled), Is.GreaterThan(0), "pull repaired what push lost");
        Assert.That(stats.Sum(s => s.PushCopiesSent), Is.GreaterThan(0));
        Assert.That(stats.Sum(s => s.DuplicateMessages), Is.GreaterThan(0), "push with fanout 3 sends copies to peers that have the message");
        Assert.That(stats.Sum(s => s.PullDropped + s.RejectedMessages), Is.Zero, "honest peers trigger no drop");
        cluster.StopAll();
    }

    [Test]
    public void PullOnly_CatchesUpLateJoiners()
    {
        var cluster = new Cluster(configure: o => o.Dissemination = DisseminationMode.PullOnly);
        cluster.StartMany(10, seed: 2);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(30), () => "membership did not converge");
        for (int m = 0; m < 50; m++)
        {
            cluster.Publish(m % 3, m);
        }

        cluster.RunUntil(cluster.Complete, TimeSpan.FromSeconds(30), cluster.Describe);

        // Five peers join late, one every 300 ms; each catches up with everything by pull alone.
        for (int j = 0; j < 5; j++)
        {
            cluster.Start(bootstrap: j);
            cluster.Time.Advance(TimeSpan.FromMilliseconds(300));
        }

        cluster.RunUntil(() => cluster.Converged() && cluster.Complete(), TimeSpan.FromSeconds(60), cluster.Describe);
        cluster.Time.Advance(TimeSpan.FromSeconds(2));
        cluster.AssertExactlyOnce();
        var stats = cluster.Nodes.Select(n => n.GetStatistics()).ToList();
        Assert.That(stats.Sum(s => s.PushCopiesSent), Is.Zero, "pull-only pushes nothing");
        Assert.That(stats.Sum(s => s.MessagesPulled), Is.EqualTo(stats.Sum(s => s.MessagesDelivered)), "everything came by pull");
        Assert.That(stats.Skip(10).All(s => s.MessagesDelivered == 50), Is.True);
        cluster.StopAll();
    }

    [Test]
    public void Publish_RefusesWhenNotRunningOrTooLarge_AndAThrowingSubscriberDoesNotStopDelivery()
    {
        var cluster = new Cluster();
        var idle = new GossipNode(new GossipOptions { Endpoint = Cluster.EndpointOf(99) }, cluster.Network.CreateTransport(Cluster.EndpointOf(99)));
        Assert.Throws<InvalidOperationException>(() => idle.Publish([1, 2, 3]));

        cluster.StartMany(3, seed: 1);
        cluster.RunUntil(cluster.Converged, TimeSpan.FromSeconds(30), () => "membership did not converge");
        var node = cluster.Nodes[0];
        Assert.That(node.MaxDataLength, Is.GreaterThan(1 << 20));
        var error = Assert.Throws<ArgumentException>(() => node.Publish(new byte[node.MaxDataLength + 1]));
        Assert.That(error!.Message, Does.Contain(node.MaxDataLength.ToString(System.Globalization.CultureInfo.InvariantCulture)));

        cluster.Nodes[1].MessageReceived += (in ReceivedMessage _) => throw new InvalidOperationException("subscriber bug");
        var first = cluster.Publish(0, 1);
        var large = cluster.Publish(0, 2); // small: datagram; now one that needs a frame
        Assert.That(first.Sequence, Is.EqualTo(1UL));
        Assert.That(large.Sequence, Is.EqualTo(2UL));
        var big = new byte[200_000];
        big[0] = 3;
        var bigId = node.Publish(big);
        lock (cluster.Published)
        {
            cluster.Published.Add(bigId, big);
        }

        cluster.RunUntil(cluster.Complete, TimeSpan.FromSeconds(10), cluster.Describe);
        cluster.AssertExactlyOnce();
        cluster.StopAll();
        Assert.Throws<InvalidOperationException>(() => node.Publish([1]));
    }
}
