using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Node;
using Engine.Transport;

namespace Engine.Tests.Node;

/// <summary>Application data over real UDP datagrams and TCP frames on 127.0.0.1, with short intervals; waits on conditions with deadlines.</summary>
[Category("Sockets")]
public sealed class NodeDisseminationSocketTests
{
    private static GossipOptions Options(PeerEndpoint? bootstrap)
    {
        var options = new GossipOptions
        {
            OrgId = "Org1",
            AliveTimeInterval = TimeSpan.FromMilliseconds(250),
            AliveExpirationTimeout = TimeSpan.FromSeconds(3),
            ReconnectInterval = TimeSpan.FromSeconds(1),
            BootstrapRetryInterval = TimeSpan.FromMilliseconds(500),
            PullInterval = TimeSpan.FromMilliseconds(500),
            DigestWaitTime = TimeSpan.FromMilliseconds(100),
            RequestWaitTime = TimeSpan.FromMilliseconds(300),
            ResponseWaitTime = TimeSpan.FromMilliseconds(300),
        };
        if (bootstrap is { } b)
        {
            options.BootstrapPeers.Add(b);
        }

        return options;
    }

    private static async Task WaitUntilAsync(Func<bool> condition, TimeSpan limit, string what, Func<string> describe, CancellationToken cancellationToken)
    {
        var deadline = Stopwatch.StartNew();
        while (!condition())
        {
            if (deadline.Elapsed > limit)
            {
                Assert.Fail($"{what}: not within {limit}.\n{describe()}");
            }

            await Task.Delay(20, cancellationToken); // polling a condition, not waiting for a guess
        }
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task TwentyPeers_HundredMessagesFromFiveSources_EveryMessageAtEveryPeerExactlyOnce(CancellationToken cancellationToken)
    {
        const int count = 20, sources = 5, messages = 100;
        var nodes = new GossipNode[count];
        var received = Enumerable.Range(0, count).Select(_ => new ConcurrentDictionary<(string Origin, ulong Sequence), int>()).ToArray();
        var corrupt = 0;
        var random = new Random(3);
        try
        {
            for (int i = 0; i < count; i++)
            {
                var transport = SocketTransport.Create(new TransportOptions
                {
                    ListenEndpoint = PeerEndpoint.Loopback(0),
                    ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100),
                    ReconnectBackoffMax = TimeSpan.FromMilliseconds(500),
                });
                var node = new GossipNode(Options(i == 0 ? null : nodes[random.Next(i)].Endpoint), transport);
                var mine = received[i];
                node.MessageReceived += (in ReceivedMessage m) =>
                {
                    // The data is "message <index>" padded to its length: checked here, counted, asserted later.
                    if (m.Data.Length < 8 || BitConverter.ToInt32(m.Data) != (int)m.Sequence || m.Data[^1] != (byte)m.Sequence)
                    {
                        Interlocked.Increment(ref corrupt);
                    }

                    mine.AddOrUpdate((Convert.ToHexStringLower(m.Origin), m.Sequence), 1, (_, n) => n + 1);
                };
                await node.StartAsync(cancellationToken);
                nodes[i] = node;
            }

            string Describe() => string.Join("\n", Enumerable.Range(0, count).Select(i =>
                $"  {nodes[i].Endpoint}: {nodes[i].AliveCount} alive, {received[i].Count} messages received"));
            await WaitUntilAsync(() => nodes.All(n => n.AliveCount == count - 1), TimeSpan.FromSeconds(20), "20 peers converge", Describe, cancellationToken);

            // 100 messages from 5 sources (20 each), some small (datagrams), every tenth too large for one (a frame).
            var published = new List<GossipMessageId>();
            for (int m = 0; m < messages; m++)
            {
                var source = nodes[m % sources];
                int sequence = (m / sources) + 1;
                var data = new byte[m % 10 == 9 ? 3000 : 64 + m];
                BitConverter.TryWriteBytes(data, sequence);
                data[^1] = (byte)sequence;
                published.Add(source.Publish(data));
            }

            var expected = published.Select(id => (id.Origin, id.Sequence)).ToHashSet();
            Assert.That(expected, Has.Count.EqualTo(messages));
            bool Complete(int i)
            {
                string self = Convert.ToHexStringLower(nodes[i].PkiId.Span);
                return expected.All(k => k.Origin == self || received[i].ContainsKey(k));
            }

            await WaitUntilAsync(() => Enumerable.Range(0, count).All(Complete), TimeSpan.FromSeconds(30), "every message at every peer", Describe, cancellationToken);

            // Let every node run two more pull rounds: late copies and pulls must not deliver anything again.
            var rounds = nodes.Select(n => n.GetStatistics().PullRounds).ToArray();
            await WaitUntilAsync(() => Enumerable.Range(0, count).All(i => nodes[i].GetStatistics().PullRounds >= rounds[i] + 2), TimeSpan.FromSeconds(10),
                "two more pull rounds", Describe, cancellationToken);

            var stats = nodes.Select(n => n.GetStatistics()).ToList();
            Assert.Multiple(() =>
            {
                for (int i = 0; i < count; i++)
                {
                    int fromOthers = i < sources ? messages - (messages / sources) : messages;
                    Assert.That(received[i], Has.Count.EqualTo(fromOthers), $"peer {i}");
                    Assert.That(received[i].Values.All(n => n == 1), Is.True, $"peer {i} got a message twice");
                    Assert.That(stats[i].MessagesDelivered, Is.EqualTo(fromOthers), $"peer {i}'s counter");
                }

                Assert.That(Volatile.Read(ref corrupt), Is.Zero, "delivered bytes differ from the published bytes");
                Assert.That(stats.Sum(s => s.MessagesPublished), Is.EqualTo(messages));
                // (Pull drops are not asserted here: on a loaded machine a Digest or Update can arrive after its wait time, and is then dropped as late.)
                Assert.That(stats.Sum(s => s.RejectedMessages), Is.Zero, "honest peers send nothing malformed");
            });
            TestContext.Out.WriteLine($"push copies {stats.Sum(s => s.PushCopiesSent)}, duplicates {stats.Sum(s => s.DuplicateMessages)}, pulled {stats.Sum(s => s.MessagesPulled)}, pull drops {stats.Sum(s => s.PullDropped)}");
        }
        finally
        {
            foreach (var node in nodes)
            {
                if (node is not null)
                {
                    await node.StopAsync();
                }
            }
        }
    }
}
