using Engine.Membership;
using Engine.Node;
using Engine.Transport.Memory;

namespace Engine.Tests.Discovery;

/// <summary>
/// The SWIM-style heartbeat mode (<see cref="HeartbeatMode.Swim"/>), in virtual time on the in-memory network with its
/// default timings: probe every 1 s, direct timeout 500 ms, 3 indirect probes, suspicion 4 × log10(N) s.
/// </summary>
public sealed class SwimScenarioTests
{
    private static DiscoveryHarness Harness(int nodes, NetworkPolicy? policy = null) =>
        new(nodes, policy, o => o.HeartbeatMode = HeartbeatMode.Swim);

    private static int[] StartAll(DiscoveryHarness h, int count)
    {
        h.Start(0);
        for (int i = 1; i < count; i++)
        {
            h.Start(i, i - 1);
        }

        return Enumerable.Range(0, count).ToArray();
    }

    /// <summary>
    /// Ten nodes converge; node 0 drops off the network until node 9 suspects it. Returns right then, with the moment
    /// node 9's suspicion runs out (4 × log10(10) = 4 s on, at most one 100 ms step early). Node 0 is still disconnected.
    /// </summary>
    private static (DiscoveryHarness H, DateTimeOffset Deadline) NodeNineSuspectsNodeZero()
    {
        var h = Harness(10);
        var all = StartAll(h, 10);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "10 swim nodes converge");
        h.Network.Disconnect(DiscoveryHarness.EndpointOf(0));
        h.RunUntil(() => h.Logs.Messages(3050).Any(m => m.StartsWith("10.0.0.10:7051: ", StringComparison.Ordinal) && m.Contains("@10.0.0.1:7051 is suspected", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "node 9 suspects node 0");
        return (h, h.Time.GetUtcNow() + TimeSpan.FromSeconds(4));
    }

    [Test]
    public void TwentyNodes_Converge_WithoutAliveHeartbeats()
    {
        var h = Harness(20);
        var all = StartAll(h, 20);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "20 swim nodes converge");
        h.Run(TimeSpan.FromSeconds(30));

        Assert.Multiple(() =>
        {
            Assert.That(h.SeesExactly(all, all), Is.True, h.Describe());
            Assert.That(all.Sum(i => h.Nodes[i]!.GetStatistics().AliveSent), Is.Zero, "no flooded heartbeats in swim mode");
            Assert.That(all.Sum(h.DiedEvents), Is.Zero, "no false deaths");
            Assert.That(h.Logs.Messages(3000).All(m => m.Contains("swim (probe every 1,000 ms", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public void SyncRequests_GoOneAtATime_AndBackOffToOneInEightTicks_WhileTheyTeachNothing_AndResumeForAJoiner()
    {
        var h = Harness(11);
        var all = StartAll(h, 10);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "10 swim nodes converge");
        h.Run(TimeSpan.FromSeconds(60)); // requests that teach nothing: 1, 2, then 4 ticks apart, then 8

        long RequestsOf(int node) => h.Nodes[node]!.GetStatistics().MembershipRequestsSent;
        long before = all.Sum(RequestsOf);
        h.Run(TimeSpan.FromSeconds(64)); // 16 pull intervals of 4 s: 48 ticks of 4/3 s
        long quiet = all.Sum(RequestsOf) - before;
        Assert.That(quiet, Is.InRange(40, 80), "one request per node every 8 ticks: 6 per node in 48 ticks (480 at 3 per interval)");

        // A joiner learns the network from its bootstrap peer's response: that taught it, so its first sync request goes
        // at its first tick. The answers teach nothing (the view is complete): each doubles the wait to the next.
        h.Start(10, 0);
        long joined = RequestsOf(10);
        var sentAt = new List<double>();
        for (int step = 1; step <= 250 && sentAt.Count < 4; step++)
        {
            h.Run(TimeSpan.FromMilliseconds(100));
            if (RequestsOf(10) - joined > sentAt.Count)
            {
                sentAt.Add(step / 10.0);
            }
        }

        Assert.That(sentAt, Has.Count.EqualTo(4), "four sync requests within 25 s");
        const double Tick = 4.0 / 3;
        Assert.Multiple(() =>
        {
            Assert.That(sentAt[0], Is.InRange(2.0, 4.1), "the first within the second half of the first interval");
            Assert.That(sentAt[1] - sentAt[0], Is.EqualTo(2 * Tick).Within(0.15), "one request that taught nothing: two ticks to the next");
            Assert.That(sentAt[2] - sentAt[1], Is.EqualTo(4 * Tick).Within(0.15), "two in a row: four ticks");
            Assert.That(sentAt[3] - sentAt[2], Is.EqualTo(8 * Tick).Within(0.15), "three in a row: eight ticks, the most");
        });
    }

    [Test]
    public void WhileViewsDifferOnlyInWhoIsDead_SyncRequestsReuseTheirKnownFilter_ANewMemberMakesANewOne()
    {
        var h = Harness(10);
        var all = StartAll(h, 10);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "10 swim nodes converge");
        h.Run(TimeSpan.FromSeconds(20));

        var survivors = all[1..];
        long Sum(Func<Engine.Discovery.DiscoveryCounters, long> read) => survivors.Sum(i => read(h.Nodes[i]!.Discovery!.Counters));
        long reused = Sum(c => c.FiltersReused), requests = Sum(c => c.MembershipRequestsSent);
        h.Network.Disconnect(DiscoveryHarness.EndpointOf(0));
        h.RunUntil(() => h.SeesDead(survivors, [0]), TimeSpan.FromSeconds(40), "the survivors see node 0 dead");
        h.Run(TimeSpan.FromSeconds(20));
        long reusedInDetection = Sum(c => c.FiltersReused) - reused;
        Assert.Multiple(() =>
        {
            Assert.That(Sum(c => c.MembershipRequestsSent) - requests, Is.GreaterThan(10), "sync went on");
            Assert.That(reusedInDetection, Is.GreaterThan(0), "the member count did not change: requests within a pull interval carried the last filter");
        });

        // Node 0 restarts, a new incarnation of a member every table holds (the count stays): a reused filter holds it at
        // its old time, so answers still carry the new one, and it is alive everywhere again.
        h.Stop(0);
        h.Network.Reconnect(DiscoveryHarness.EndpointOf(0));
        h.Start(0, 1);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(60), "node 0 is back everywhere");
    }

    [Test]
    public void NodesStartedTogether_SpreadTheirFirstSyncRoundsOverTheIntervalsSecondHalf_FabricModeDoesNot()
    {
        static double[] FirstRounds(DiscoveryHarness h, int count)
        {
            var all = StartAll(h, count);
            h.Run(TimeSpan.FromSeconds(1.95)); // bootstrap requests answered; no sync round yet
            var before = all.Select(i => h.Nodes[i]!.GetStatistics().MembershipRequestsSent).ToArray();
            var first = new double[count];
            for (int step = 1; step <= 22; step++)
            {
                h.Run(TimeSpan.FromMilliseconds(100));
                foreach (int i in all.Where(i => first[i] == 0 && h.Nodes[i]!.GetStatistics().MembershipRequestsSent > before[i]))
                {
                    first[i] = 1.95 + (step / 10.0);
                }
            }

            return first;
        }

        var swim = FirstRounds(Harness(12), 12);
        Assert.That(swim, Is.All.InRange(2.0, 4.05), "each first round within the second half of the 4 s pull interval");
        Assert.That(swim.Distinct().Count(), Is.GreaterThanOrEqualTo(6), $"spread, not at one instant: {string.Join(", ", swim)}");

        var fabric = FirstRounds(new DiscoveryHarness(12), 12);
        Assert.That(fabric.Distinct().Count(), Is.EqualTo(1), $"Fabric's timing: every node at one pull interval: {string.Join(", ", fabric)}");
    }

    [Test]
    public void SettledNodes_RunNoGossipTicks_OnlyTheirProbes()
    {
        var h = Harness(3);
        var all = StartAll(h, 3);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "3 swim nodes converge");
        h.Run(TimeSpan.FromSeconds(30)); // the join news has been passed on: nothing urgent waits

        long before = h.Time.EventsRun;
        h.Run(TimeSpan.FromSeconds(10));
        long perNodePerSecond = (h.Time.EventsRun - before) / (3 * 10);

        // A probe tick, its ping and ack, the probe's timeout timer, the periodic discovery and transport jobs: about 6
        // events per node per second. A gossip timer ticking every 200 ms whether or not news waits adds five (11).
        Assert.That(perNodePerSecond, Is.LessThan(9), $"{h.Time.EventsRun - before} events in 10 s for 3 settled nodes");
        Assert.That(all.Sum(h.DiedEvents), Is.Zero);
    }

    [Test]
    public void StoppedPeer_IsSuspectedThenDeclaredDead_ByEveryone()
    {
        var h = Harness(10);
        var all = StartAll(h, 10);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "10 swim nodes converge");

        h.Stop(7);
        var survivors = all.Where(i => i != 7).ToArray();
        var took = h.RunUntil(() => h.SeesDead(survivors, [7]) && h.SeesExactly(survivors, survivors), TimeSpan.FromMinutes(1), "survivors see 7 dead");

        // Found within a few probe periods, then 4 × log10(10) = 4 s of suspicion, then spread.
        Assert.Multiple(() =>
        {
            Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(15)), "detected well inside Fabric's 25 s expiry");
            Assert.That(h.Logs.Messages(3050).Any(m => m.Contains("no ack to a direct or indirect probe", StringComparison.Ordinal)), Is.True, "a prober suspected it");
            Assert.That(h.Logs.Messages(3051).Any(), Is.True, "a suspicion was confirmed");
            Assert.That(survivors.Sum(h.DiedEvents), Is.EqualTo(survivors.Length), "exactly one death each, of node 7");
        });
    }

    [Test]
    public void FalseSuspicion_IsRefutedByANewerSeqNum_AndNobodyDeclaresItDead()
    {
        var h = Harness(10);
        var all = StartAll(h, 10);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "10 swim nodes converge");
        ulong seqBefore = h.Nodes[4]!.GetMembership().Alive.First(p => p.Endpoint == DiscoveryHarness.EndpointOf(0)).Time.SeqNum;
        int suspicionsBefore = h.Logs.Messages(3050).Count();

        // Node 0 drops off the network long enough for a probe of it to fail, and comes back before the suspicion is confirmed.
        h.Network.Disconnect(DiscoveryHarness.EndpointOf(0));
        h.RunUntil(() => h.Logs.Messages(3050).Any(m => m.Contains("@10.0.0.1:7051 is suspected", StringComparison.Ordinal)), TimeSpan.FromSeconds(20), "node 0 is suspected");
        h.Network.Reconnect(DiscoveryHarness.EndpointOf(0));
        h.RunUntil(() => h.Logs.Messages(3052).Any(m => m.StartsWith("10.0.0.1:7051: refuting", StringComparison.Ordinal)), TimeSpan.FromSeconds(10), "node 0 refutes");
        h.Run(TimeSpan.FromSeconds(30));

        // Whoever suspected node 0 now holds its newer seq_num (those who never did may keep the older one: both say alive).
        var newer = all.Where(i => i != 0)
            .Count(i => h.Nodes[i]!.GetMembership().Alive.First(p => p.Endpoint == DiscoveryHarness.EndpointOf(0)).Time.SeqNum > seqBefore);
        Assert.Multiple(() =>
        {
            Assert.That(suspicionsBefore, Is.Zero, "no suspicion before the disconnection");
            Assert.That(h.SeesExactly(all, all), Is.True, h.Describe());
            Assert.That(all.Sum(h.DiedEvents), Is.Zero, "the refutation beat every suspicion timer");
            Assert.That(newer, Is.GreaterThan(0), "the suspecters hold node 0 at its newer seq_num");
        });
    }

    [Test]
    public void AnObserverThatMissedTheRefutation_PingsTheAccusedBeforeDeclaringItDead()
    {
        var (h, deadline) = NodeNineSuspectsNodeZero();
        var accused = DiscoveryHarness.EndpointOf(0);
        var observer = DiscoveryHarness.EndpointOf(9);
        var strategy = h.Nodes[9]!.Discovery!.Swim!;

        // Node 9 then hears nothing (a peer slowed by its own load), while node 0 comes back and refutes to the others.
        h.Network.Reconnect(accused);
        h.Network.Disconnect(observer);
        h.RunUntil(() => h.Nodes[1]!.GetMembership().Alive.Any(p => p.Endpoint == accused), TimeSpan.FromSeconds(5), "node 0 is alive again for node 1");

        // Node 9 is back just before its suspicion runs out: the refutation is no longer being spread by then.
        h.Run(deadline - TimeSpan.FromMilliseconds(200) - h.Time.GetUtcNow());
        h.Network.Reconnect(observer);
        h.Run(TimeSpan.FromSeconds(10));

        Assert.Multiple(() =>
        {
            Assert.That(strategy.ConfirmPings, Is.GreaterThan(0), "node 9 pinged before declaring");
            Assert.That(strategy.SavedByConfirmPing, Is.GreaterThan(0), "and the answer saved node 0");
            Assert.That(h.Changes.Count(c => c.Change.Endpoint == accused && c.Change.State == MemberState.Dead), Is.Zero, "nobody declared node 0 dead");
            Assert.That(h.Alive(9), Does.Contain(accused));
            Assert.That(h.Logs.Messages(3054).Any(m => m.StartsWith("10.0.0.10:7051: suspicion of", StringComparison.Ordinal) && m.Contains("@10.0.0.1:7051 ran out", StringComparison.Ordinal)), Is.True);
        });
    }

    [Test]
    public void AnObserverThatHearsNothing_DoesNotTrustItsSilence_ItDeclaresOnlyOnceItHearsAgain()
    {
        var (h, deadline) = NodeNineSuspectsNodeZero(); // node 0 stays gone
        var accused = DiscoveryHarness.EndpointOf(0);
        var observer = DiscoveryHarness.EndpointOf(9);
        var strategy = h.Nodes[9]!.Discovery!.Swim!;
        bool DeclaredBy9() => h.Logs.Messages(3051).Any(m => m.StartsWith("10.0.0.10:7051: suspicion of", StringComparison.Ordinal) && m.Contains("@10.0.0.1:7051 confirmed", StringComparison.Ordinal));

        // Node 9 hears nothing from shortly before its suspicion runs out until well after its confirmation pings are
        // spent: its silence says nothing about node 0, since nobody answers it at all.
        h.Run(deadline - TimeSpan.FromMilliseconds(500) - h.Time.GetUtcNow());
        h.Network.Disconnect(observer);
        h.Run(TimeSpan.FromSeconds(4));
        Assert.Multiple(() =>
        {
            Assert.That(strategy.ConfirmPings, Is.GreaterThan(0), "node 9 pinged node 0 when its suspicion ran out");
            Assert.That(strategy.UntrustedWaits, Is.GreaterThan(0), "with no ack to any of its own probes, it waited");
            Assert.That(DeclaredBy9(), Is.False, "and declared nothing while it heard nothing");
        });

        // Heard again: its probes of others are answered, and node 0 (still gone) is declared dead.
        h.Network.Reconnect(observer);
        h.RunUntil(() => h.SeesDead([9], [0]), TimeSpan.FromSeconds(10), "node 9 holds node 0 dead");
        Assert.That(h.Alive(9), Does.Not.Contain(accused));
    }

    [Test]
    public void TwentyPercentDatagramLoss_ConvergesWithoutFalseDeaths()
    {
        var h = Harness(20, new NetworkPolicy { Seed = 11, DropProbability = 0.2, Jitter = TimeSpan.FromMilliseconds(20) });
        var all = StartAll(h, 20);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(60), "20 swim nodes converge under 20% loss");
        h.Run(TimeSpan.FromMinutes(3));

        Assert.Multiple(() =>
        {
            Assert.That(h.SeesExactly(all, all), Is.True, h.Describe());
            Assert.That(all.Sum(h.DiedEvents), Is.Zero, "lost probes are suspected, then refuted: nobody dies");
        });
    }

    [Test]
    public void RestartedPeer_NewIncarnationReplacesTheDeadOne()
    {
        var h = Harness(8);
        var all = StartAll(h, 8);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(30), "8 swim nodes converge");
        ulong oldIncarnation = h.Nodes[0]!.GetMembership().Alive.First(p => p.Endpoint == DiscoveryHarness.EndpointOf(3)).Time.IncNum;

        h.Stop(3);
        var survivors = all.Where(i => i != 3).ToArray();
        h.RunUntil(() => h.SeesDead(survivors, [3]), TimeSpan.FromMinutes(1), "survivors see 3 dead");

        h.Start(3, 5);
        h.RunUntil(() => h.SeesExactly(all, all), TimeSpan.FromSeconds(20), "the restarted node is alive everywhere");
        var seen = all.Where(i => i != 3).Select(i => h.Nodes[i]!.GetMembership().Alive.First(p => p.Endpoint == DiscoveryHarness.EndpointOf(3)).Time.IncNum).Distinct().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(seen, Has.Count.EqualTo(1));
            Assert.That(seen[0], Is.GreaterThan(oldIncarnation), "everyone holds the new incarnation");
            Assert.That(h.Changes.Count(c => c.Change.Endpoint == DiscoveryHarness.EndpointOf(3) && c.Change.Resurrected), Is.EqualTo(survivors.Length));
        });
    }

    [Test]
    public void SwimWithSigning_IsRefusedAtStart_NamingTheOption()
    {
        var time = new VirtualTimeProvider();
        var ca = Engine.Security.OrgCertificateAuthority.Create("Org1", time);
        var trust = new Engine.Security.TrustStore(time);
        trust.Add("Org1", ca.Certificate);
        var options = new GossipOptions
        {
            OrgId = "Org1",
            HeartbeatMode = HeartbeatMode.Swim,
            Credential = ca.IssuePeer("peer0.Org1", time),
            TrustStore = trust,
        };

        var e = Assert.Throws<ArgumentException>(options.Validate);
        Assert.That(e!.ParamName, Is.EqualTo(nameof(GossipOptions.HeartbeatMode)));
        Assert.That(e.Message, Does.Contain("not signed yet"));
    }
}
