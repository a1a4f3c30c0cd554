using System.Collections.Concurrent;
using System.Diagnostics;
using Engine.Membership;
using Engine.Node;
using Engine.Transport;

namespace Engine.Tests.Discovery;

/// <summary>Discovery over real UDP and TCP on 127.0.0.1, with short intervals; waits on conditions with deadlines, never fixed sleeps.</summary>
[Category("Sockets")]
public sealed class DiscoverySocketTests
{
    private static readonly TimeSpan AliveInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan Expiration = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan CheckPeriod = Expiration / 10;

    private static GossipOptions Options(PeerEndpoint? bootstrap)
    {
        var options = new GossipOptions
        {
            OrgId = "Org1",
            AliveTimeInterval = AliveInterval,
            AliveExpirationTimeout = Expiration,
            ReconnectInterval = TimeSpan.FromSeconds(1),
            PullInterval = TimeSpan.FromSeconds(1),
            BootstrapRetryInterval = TimeSpan.FromMilliseconds(500),
        };
        if (bootstrap is { } b)
        {
            options.BootstrapPeers.Add(b);
        }

        return options;
    }

    private static async Task<GossipNode> StartAsync(ushort port, PeerEndpoint? bootstrap, ConcurrentQueue<(int Observer, MembershipChangedEvent Change, long At)> changes, int index)
    {
        var transport = SocketTransport.Create(new TransportOptions
        {
            ListenEndpoint = PeerEndpoint.Loopback(port),
            ReconnectBackoffInitial = TimeSpan.FromMilliseconds(100),
            ReconnectBackoffMax = TimeSpan.FromMilliseconds(500),
        });
        var node = new GossipNode(Options(bootstrap), transport);
        node.MembershipChanged += e => changes.Enqueue((index, e, Stopwatch.GetTimestamp()));
        await node.StartAsync();
        return node;
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
    public async Task TwentyPeers_Converge_FiveStoppedAreSeenDeadInTime_AndAliveAgainAfterRestart(CancellationToken cancellationToken)
    {
        const int count = 20;
        var changes = new ConcurrentQueue<(int Observer, MembershipChangedEvent Change, long At)>();
        var nodes = new GossipNode[count];
        var random = new Random(5);
        try
        {
            nodes[0] = await StartAsync(0, null, changes, 0);
            for (int i = 1; i < count; i++)
            {
                nodes[i] = await StartAsync(0, nodes[random.Next(i)].Endpoint, changes, i);
            }

            var endpoints = nodes.Select(n => n.Endpoint).ToArray();
            string Describe() => string.Join("\n", Enumerable.Range(0, count).Where(i => nodes[i].IsRunning).Select(i =>
                $"  {endpoints[i]}: {nodes[i].GetMembership().Alive.Count} alive, {nodes[i].GetMembership().Dead.Count} dead"));
            bool SeesAlive(int observer, IEnumerable<int> peers) =>
                nodes[observer].GetMembership().Alive.Select(p => p.Endpoint).ToHashSet().SetEquals(peers.Where(p => p != observer).Select(p => endpoints[p]));

            var all = Enumerable.Range(0, count).ToArray();
            await WaitUntilAsync(() => all.All(o => SeesAlive(o, all)), TimeSpan.FromSeconds(20), "20 peers converge", Describe, cancellationToken);

            // Stop five; every survivor must see each of them dead within the expiration timeout and one check period.
            var stopped = Enumerable.Range(15, 5).ToArray();
            var survivors = Enumerable.Range(0, 15).ToArray();
            long stopAt = Stopwatch.GetTimestamp();
            var stoppedAt = new Dictionary<PeerEndpoint, long>();
            foreach (int i in stopped)
            {
                stoppedAt[endpoints[i]] = Stopwatch.GetTimestamp(); // its heartbeats end as StopAsync begins
                await nodes[i].StopAsync();
            }

            var stoppedEndpoints = stopped.Select(i => endpoints[i]).ToHashSet();
            await WaitUntilAsync(
                () => survivors.All(o => stoppedEndpoints.IsSubsetOf(nodes[o].GetMembership().Dead.Select(p => p.Endpoint)) && SeesAlive(o, survivors)),
                TimeSpan.FromSeconds(15), "survivors see the five dead", Describe, cancellationToken);

            var detections = changes.Where(c => c.Change.State == MemberState.Dead && stoppedEndpoints.Contains(c.Change.Endpoint) && c.At >= stopAt)
                .GroupBy(c => (c.Observer, c.Change.Endpoint)).Select(g => Stopwatch.GetElapsedTime(stoppedAt[g.Key.Endpoint], g.Min(c => c.At))).ToList();
            var worst = detections.Max();
            TestContext.Out.WriteLine($"death detected after {detections.Min().TotalMilliseconds:F0} to {worst.TotalMilliseconds:F0} ms (bound {(Expiration + CheckPeriod).TotalMilliseconds:F0} ms)");

            // Timers on a shared 2-core machine fire late (up to ~300 ms seen under load); the slack is for that, not for the protocol.
            var slack = TimeSpan.FromMilliseconds(750);
            Assert.Multiple(() =>
            {
                Assert.That(detections, Has.Count.EqualTo(survivors.Length * stopped.Length), "each survivor saw each stopped peer die once");
                Assert.That(worst, Is.LessThanOrEqualTo(Expiration + CheckPeriod + slack));
            });

            // Restart them on the same ports: alive again everywhere.
            foreach (int i in stopped)
            {
                nodes[i] = await StartAsync(endpoints[i].Port, endpoints[0], changes, i);
            }

            await WaitUntilAsync(() => all.All(o => SeesAlive(o, all)), TimeSpan.FromSeconds(20), "restarted peers are alive everywhere", Describe, cancellationToken);
            Assert.That(survivors.All(o => nodes[o].GetMembership().Dead.Count == 0), Is.True, Describe());
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
