using System.Diagnostics;
using Engine.Membership;
using static Engine.Tests.Membership.MembershipTestKit;

namespace Engine.Tests.Membership;

/// <summary>
/// Threads race updates, verdicts, lookups and samples on one table (which also grows under them); afterwards every
/// member must hold the newest time offered for it, and the table, its counters and its sampling index must agree.
/// Each thread's operations come from its own seeded generator; the interleaving is the scheduler's.
/// </summary>
public sealed class MembershipConcurrencyTests
{
    private const int Threads = 4;

    // Odd keys are 40 bytes, past the info record's inline 32: racing restarts and endpoint changes also cover members
    // whose key sits in the record's side object.
    private static byte[] Key(int id) =>
        id % 2 == 0 ? MembershipTestKit.Key(id) : [.. MembershipTestKit.Key(id), .. BitConverter.GetBytes((long)id)];
    private const int Keys = 3_000;
    private const int HotKeys = 4;
    private static readonly string[] Orgs = ["Org1MSP", "Org2MSP", "Org3MSP"];
    private static readonly TimeSpan Budget = TimeSpan.FromSeconds(2);

    [Test]
    [CancelAfter(30_000)]
    public void RacingUpdatesLeaveEveryMemberAtTheNewestTimeOffered(CancellationToken cancellationToken)
    {
        var table = NewTable(seed: 3, initialCapacity: 0);
        var workers = Enumerable.Range(0, Threads).Select(t => new Worker(table, seed: 100 + t)).ToArray();
        Run(workers, w => w.RaceUpdates(cancellationToken));

        // Combine what the threads offered: the newest (time, state) per key, and which keys got a local verdict.
        var newest = new Dictionary<int, (PeerTime Time, MemberState State)>();
        var demoted = new HashSet<int>();
        foreach (var worker in workers)
        {
            foreach (var (key, offer) in worker.Newest)
            {
                if (!newest.TryGetValue(key, out var best) || Later(offer, best))
                {
                    newest[key] = offer;
                }
            }

            demoted.UnionWith(worker.Demoted);
        }

        TestContext.Out.WriteLine($"{workers.Sum(w => w.Operations):N0} operations, {newest.Count} keys, {demoted.Count} demoted, index generation {table.CurrentIndex.Generation}");
        Assert.That(workers.Sum(w => w.Operations), Is.GreaterThan(10_000), "the race ran");
        Assert.That(table.CurrentIndex.Generation, Is.GreaterThan(3), "the table grew during the race");
        Assert.That(workers.Select(w => w.Failure), Is.All.Null);

        foreach (var (key, offer) in newest)
        {
            var member = table.Find(Key(key));
            Assert.That(member, Is.Not.Null, $"key {key} lost");
            var state = member!.GetState(out var time);
            Assert.That(time, Is.EqualTo(offer.Time), $"key {key}: the newest time offered must win");
            if (demoted.Contains(key))
            {
                Assert.That(state, Is.GreaterThanOrEqualTo(offer.State), $"key {key}");
            }
            else
            {
                Assert.That(state, Is.EqualTo(offer.State), $"key {key}");
            }
        }

        AssertConsistent(table, newest.Count);
    }

    [Test]
    [CancelAfter(30_000)]
    public void RacingPurgesAndReturnsNeverDuplicateAMember(CancellationToken cancellationToken)
    {
        var table = NewTable(seed: 4, initialCapacity: 0);
        var workers = Enumerable.Range(0, Threads).Select(t => new Worker(table, seed: 200 + t)).ToArray();
        Run(workers, w => w.RacePurges(purger: w == workers[0], cancellationToken));

        TestContext.Out.WriteLine($"{workers.Sum(w => w.Operations):N0} operations, {workers[0].Purged:N0} purged, index generation {table.CurrentIndex.Generation}");
        Assert.That(workers.Select(w => w.Failure), Is.All.Null);
        Assert.That(workers[0].Purged, Is.GreaterThan(100), "purges raced with updates");
        var keys = workers.SelectMany(w => w.Newest.Keys).Distinct().ToList();
        int present = keys.Count(k => table.Find(Key(k)) is not null);
        AssertConsistent(table, present);
    }

    [Test]
    [CancelAfter(30_000)]
    public void EnumerationDuringGrowthSeesEveryEarlierMemberOnce(CancellationToken cancellationToken)
    {
        var table = NewTable(seed: 5, initialCapacity: 0);
        for (int i = 0; i < 2_000; i++)
        {
            table.Alive(i, 1, 1);
        }

        var earlier = table.Members().ToHashSet();
        using var done = new ManualResetEventSlim();
        var inserter = new Thread(() =>
        {
            for (int i = 2_000; i < 60_000 && !cancellationToken.IsCancellationRequested; i++)
            {
                table.Alive(i, 1, 1);
            }

            done.Set();
        });
        inserter.Start();
        int passes = 0, duringCopy = 0, duplicates = 0, missed = 0;
        var seen = new HashSet<Member>();
        while (!done.IsSet || passes == 0)
        {
            seen.Clear();
            bool copying = table.CurrentIndex.Next is not null;
            foreach (var member in table)
            {
                duplicates += seen.Add(member) ? 0 : 1;
            }

            missed += earlier.IsSubsetOf(seen) ? 0 : 1;
            duringCopy += copying || table.CurrentIndex.Next is not null ? 1 : 0;
            passes++;
        }

        inserter.Join();
        TestContext.Out.WriteLine($"{passes} passes ({duringCopy} while a generation was being copied), index generation {table.CurrentIndex.Generation}");
        Assert.That(duplicates, Is.Zero, "members enumerated twice in one pass");
        Assert.That(missed, Is.Zero, "passes that missed a member present before they started");
        Assert.That(table.CurrentIndex.Generation, Is.GreaterThan(4));
        Assert.That(table.Members(), Has.Count.EqualTo(60_000));
    }

    private static void AssertConsistent(MembershipTable table, int expectedCount)
    {
        var members = table.Members();
        Assert.That(members, Has.Count.EqualTo(expectedCount), "one member per key");
        Assert.That(members.Select(m => Convert.ToHexString(m.PkiId)), Is.Unique);
        foreach (var member in members)
        {
            Assert.That(table.Find(member.PkiId), Is.SameAs(member));
        }

        Assert.That(table.Count, Is.EqualTo(expectedCount));
        Assert.That(table.AliveCount, Is.EqualTo(members.Count(m => m.State == MemberState.Alive)));
        Assert.That(table.SuspectCount, Is.EqualTo(members.Count(m => m.State == MemberState.Suspect)));
        Assert.That(table.DeadCount, Is.EqualTo(members.Count(m => m.State == MemberState.Dead)));
        ulong digest = 0;
        foreach (var member in members)
        {
            digest += MembershipTable.DigestTerm(member.PkiId, member.State == MemberState.Dead);
        }

        Assert.That(table.Digest, Is.EqualTo(digest), "the view digest is the sum of its members' terms, whatever raced");

        var sampleable = table.AliveIndex.Snapshot();
        Assert.That(sampleable, Is.Unique, "no duplicates in the sampling index");
        Assert.That(sampleable, Is.EquivalentTo(members.Where(m => m.State is MemberState.Alive or MemberState.Suspect)));
        for (int i = 0; i < sampleable.Length; i++)
        {
            Assert.That(sampleable[i].AlivePosition, Is.EqualTo(i));
        }

        foreach (var org in members.Select(m => m.Org).Distinct())
        {
            var orgSampleable = table.OrgAliveIndex(org)!.Snapshot();
            Assert.That(orgSampleable, Is.EquivalentTo(sampleable.Where(m => m.Org == org)), $"sampling index of {org}");
            for (int i = 0; i < orgSampleable.Length; i++)
            {
                Assert.That(orgSampleable[i].OrgAlivePosition, Is.EqualTo(i));
            }
        }
    }

    private static bool Later((PeerTime Time, MemberState State) a, (PeerTime Time, MemberState State) b) =>
        a.Time > b.Time || (a.Time == b.Time && a.State > b.State);

    private static void Run(Worker[] workers, Action<Worker> body)
    {
        using var start = new Barrier(workers.Length);
        var threads = workers.Select(w => new Thread(() =>
        {
            start.SignalAndWait();
            try
            {
                body(w);
            }
            catch (Exception e)
            {
                w.Failure = e;
            }
        })).ToArray();
        foreach (var thread in threads)
        {
            thread.Start();
        }

        foreach (var thread in threads)
        {
            thread.Join();
        }
    }

    private sealed class Worker(MembershipTable table, int seed)
    {
        private readonly Random _random = new(seed);
        private readonly Member[] _sample = new Member[3];
        private readonly Dictionary<int, (PeerTime Time, MemberState State)> _observed = [];

        public Dictionary<int, (PeerTime Time, MemberState State)> Newest { get; } = [];

        public HashSet<int> Demoted { get; } = [];

        public long Operations { get; private set; }

        public long Purged { get; private set; }

        public Exception? Failure { get; set; }

        public bool Purging { get; set; }

        public void RaceUpdates(CancellationToken cancellationToken)
        {
            var clock = Stopwatch.StartNew();
            while (clock.Elapsed < Budget && !cancellationToken.IsCancellationRequested)
            {
                for (int i = 0; i < 256; i++, Operations++)
                {
                    // Three operations in four hit a few hot keys, so threads collide on the same member all the time.
                    int key = _random.Next(4) != 0 ? _random.Next(HotKeys) : _random.Next(Keys);
                    int op = _random.Next(100);
                    if (op < 60)
                    {
                        Offer(key);
                    }
                    else if (op < 70 && key % 2 == 0)
                    {
                        // Local verdicts only on even keys: odd keys must end in exactly the newest state offered.
                        var member = table.Find(Key(key));
                        if (member is not null)
                        {
                            var change = op < 65 ? table.MarkDead(member) : table.MarkSuspect(member);
                            if (change != MembershipChange.Stale)
                            {
                                Demoted.Add(key);
                            }
                        }
                    }
                    else if (op < 85)
                    {
                        Lookup(key);
                    }
                    else
                    {
                        Sample();
                    }
                }
            }
        }

        public void RacePurges(bool purger, CancellationToken cancellationToken)
        {
            Purging = true;
            var clock = Stopwatch.StartNew();
            long now = 0;
            while (clock.Elapsed < Budget && !cancellationToken.IsCancellationRequested)
            {
                if (purger)
                {
                    // Time jumps past the retention on every pass: every dead member is due.
                    now += Seconds(1_000);
                    foreach (var member in table.PurgeDead(now))
                    {
                        Purged++;
                        Check(member.State == MemberState.Purged, "purged member reports its state");
                    }
                }

                for (int i = 0; i < 256; i++, Operations++)
                {
                    int key = _random.Next(Keys / 4);
                    int op = _random.Next(100);
                    if (op < 50)
                    {
                        Offer(key);
                    }
                    else if (op < 70)
                    {
                        var member = table.Find(Key(key));
                        if (member is not null)
                        {
                            table.MarkDead(member);
                        }
                    }
                    else if (op < 85)
                    {
                        Lookup(key);
                    }
                    else
                    {
                        Sample();
                    }
                }
            }
        }

        private void Offer(int key)
        {
            // Times move forward as the race goes on (a new incarnation every 32 k operations of a thread, sequence
            // numbers climbing within it, a little ahead or behind at random), so offers keep landing until the end and
            // threads keep colliding on the newest ones; rarely a sequence number so large that the member's record must
            // be replaced (the same path as a restart).
            ulong inc = 1 + (ulong)(Operations >> 15) + (ulong)_random.Next(2);
            ulong seq = _random.Next(5_000) == 0
                ? ulong.MaxValue - (ulong)_random.Next(1_000)
                : (ulong)((Operations & 0x7FFF) >> 3) + (ulong)_random.Next(64);
            var state = _random.Next(10) switch { 0 => MemberState.Dead, 1 => MemberState.Suspect, _ => MemberState.Alive };
            var offer = (new PeerTime(inc, seq), state);
            var change = table.Update(Key(key), new MemberAnnouncement(offer.Item1, state, Endpoint(key), org: Orgs[key % Orgs.Length]), 1, out var member);
            Check(change != MembershipChange.Rejected && member is not null && member.KeyEquals(Key(key)), "update landed on its key");
            if (!Newest.TryGetValue(key, out var best) || Later(offer, best))
            {
                Newest[key] = offer;
            }

            // Accepted or stale, the member is at least as new as the offer from now on.
            Observe(key, member!, atLeast: offer);
        }

        private void Lookup(int key)
        {
            var member = table.Find(Key(key));
            Check(member is null || member.KeyEquals(Key(key)), "lookup returns its key");
            if (member is not null)
            {
                Observe(key, member, atLeast: null);
            }
        }

        /// <summary>What one thread sees of a member never goes back in time (while nothing purges it).</summary>
        private void Observe(int key, Member member, (PeerTime Time, MemberState State)? atLeast)
        {
            if (Purging)
            {
                return;
            }

            var state = member.GetState(out var time);
            var seen = (time, state);
            if (_observed.TryGetValue(key, out var previous) && Later(previous, seen))
            {
                throw new InvalidOperationException($"key {key} went back from {previous} to {seen}");
            }

            if (atLeast is { } floor && Later(floor, seen))
            {
                throw new InvalidOperationException($"key {key} is at {seen}, older than the offer {floor} judged against it");
            }

            _observed[key] = seen;
        }

        private void Sample()
        {
            int n = _random.Next(2) == 0 ? table.Sample(_sample) : table.SampleOrg(Orgs[_random.Next(Orgs.Length)], _sample, default(AnyPeerFilter));
            for (int a = 0; a < n; a++)
            {
                for (int b = a + 1; b < n; b++)
                {
                    Check(!ReferenceEquals(_sample[a], _sample[b]), "a sample never repeats a member");
                }
            }
        }

        private static void Check(bool condition, string what)
        {
            if (!condition)
            {
                throw new InvalidOperationException(what);
            }
        }
    }
}
