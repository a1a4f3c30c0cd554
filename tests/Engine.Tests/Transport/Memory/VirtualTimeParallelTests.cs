using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Transport.Memory;

/// <summary>Parallel windows of the virtual clock: owners side by side, the same result whatever the thread count.</summary>
public sealed class VirtualTimeParallelTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    /// <summary>
    /// Owners with periodic timers pass tokens to random owners (each owner draws from its own random source, a delay of
    /// at least the lookahead), echo to themselves at once, and spin a little so threads interleave. Returns every
    /// owner's trace, and how many callbacks read a clock other than their own event's due time.
    /// </summary>
    private static (List<string> Trace, int WrongClock) Simulate(int threads, int owners = 24)
    {
        var time = new VirtualTimeProvider();
        time.EnableParallel(Ms(1), threads);
        long start = time.GetUtcNow().UtcTicks;
        var traces = new List<string>[owners + 1];
        var randoms = new Random[owners + 1];
        var timers = new List<ITimer>();
        int wrongClock = 0;

        void Check(long due)
        {
            if (time.GetUtcNow().UtcTicks != due || time.GetTimestamp() != due)
            {
                Interlocked.Increment(ref wrongClock);
            }
        }

        void Pass(int from, int to, int hops)
        {
            var delay = Ms(1) + TimeSpan.FromTicks(randoms[from].Next(3) * 5_000);
            long due = time.GetUtcNow().UtcTicks + delay.Ticks;
            time.Schedule(delay, _ =>
            {
                Check(due);
                traces[to].Add($"{time.GetUtcNow().UtcTicks - start} {from}->{to} hop {hops}");
                Thread.SpinWait(randoms[to].Next(2_000));
                long echoDue = time.GetUtcNow().UtcTicks;
                time.Schedule(TimeSpan.Zero, _ =>
                {
                    Check(echoDue);
                    traces[to].Add($"{time.GetUtcNow().UtcTicks - start} echo");
                }, null);
                if (hops < 4)
                {
                    Pass(to, randoms[to].Next(1, owners + 1), hops + 1);
                }
            }, null, to);
        }

        for (int owner = 1; owner <= owners; owner++)
        {
            traces[owner] = [];
            randoms[owner] = new Random(owner);
            int self = owner;
            using (time.EnterOwner(owner))
            {
                timers.Add(time.CreateTimer(_ =>
                {
                    traces[self].Add($"{time.GetUtcNow().UtcTicks - start} tick");
                    Pass(self, randoms[self].Next(1, owners + 1), 0);
                }, null, TimeSpan.FromTicks(randoms[owner].Next(50_000)), Ms(3)));
            }
        }

        time.Advance(Ms(200));
        time.StopWorkers();
        var trace = new List<string>();
        for (int owner = 1; owner <= owners; owner++)
        {
            trace.AddRange(traces[owner].Select(line => $"{owner}: {line}"));
        }

        return (trace, wrongClock);
    }

    [Test]
    [CancelAfter(60_000)]
    public void OwnersRunSideBySide_AndTheResultDoesNotDependOnTheThreadCount()
    {
        var (one, wrongOne) = Simulate(threads: 1);
        var (three, wrongThree) = Simulate(threads: 3);

        Assert.That(one, Has.Count.GreaterThan(5_000), "the simulation ran");
        Assert.That(three, Is.EqualTo(one));
        Assert.That(wrongOne + wrongThree, Is.Zero, "every callback reads its own event's time");
    }

    [Test]
    public void AnEventForAnotherOwnerInsideTheWindow_IsRefused()
    {
        var time = new VirtualTimeProvider();
        time.EnableParallel(Ms(1), threads: 2);
        using (time.EnterOwner(1))
        {
            time.Schedule(Ms(5), _ => time.Schedule(Ms(0.5), _ => { }, null, owner: 2), null);
        }

        Assert.That(() => time.Advance(Ms(10)), Throws.InvalidOperationException.With.Message.Contains("lookahead"));
        time.StopWorkers();
    }

    [Test]
    public void AnotherOwnersTimer_ChangedInsideAWindow_IsRefused()
    {
        var time = new VirtualTimeProvider();
        time.EnableParallel(Ms(1), threads: 1);
        ITimer theirs;
        using (time.EnterOwner(2))
        {
            theirs = time.CreateTimer(_ => { }, null, Ms(50), Timeout.InfiniteTimeSpan);
        }

        using (time.EnterOwner(1))
        {
            time.Schedule(Ms(5), _ => theirs.Change(Ms(1), Timeout.InfiniteTimeSpan), null);
        }

        Assert.That(() => time.Advance(Ms(10)), Throws.InvalidOperationException.With.Message.Contains("changed a timer of owner 2"));
        theirs.Dispose();
    }

    [Test]
    public void SharedEvents_RunAlone_AfterEveryOwnedEventBeforeThem_AndBeforeAnyAfter()
    {
        var time = new VirtualTimeProvider();
        time.EnableParallel(Ms(2), threads: 2);
        long start = time.GetUtcNow().UtcTicks;
        long latestOwned = 0;
        var gate = new object();
        int ownedAfter = 0;
        bool sharedRan = false;
        var timers = new List<ITimer>();
        for (int owner = 1; owner <= 8; owner++)
        {
            using (time.EnterOwner(owner))
            {
                timers.Add(time.CreateTimer(_ =>
                {
                    long at = time.GetUtcNow().UtcTicks - start;
                    if (Volatile.Read(ref sharedRan))
                    {
                        Interlocked.Increment(ref ownedAfter);
                        Assert.That(at, Is.GreaterThanOrEqualTo(Ms(5).Ticks), "an owned event before the shared one ran after it");
                    }
                    else
                    {
                        lock (gate)
                        {
                            latestOwned = Math.Max(latestOwned, at);
                        }
                    }
                }, null, TimeSpan.FromTicks(owner * 1_000), Ms(0.3)));
            }
        }

        time.Schedule(Ms(5), _ =>
        {
            Assert.That(time.GetUtcNow().UtcTicks - start, Is.EqualTo(Ms(5).Ticks));
            Volatile.Write(ref sharedRan, true);
        }, null);
        time.Advance(Ms(10));
        time.StopWorkers();

        Assert.That(sharedRan, Is.True);
        Assert.That(latestOwned, Is.LessThanOrEqualTo(Ms(5).Ticks), "owned events up to the shared event's time ran before it");
        Assert.That(ownedAfter, Is.GreaterThan(0));
        foreach (var timer in timers)
        {
            timer.Dispose();
        }
    }

    [Test]
    public void AFailingCallback_IsThrownOutOfTheRun_AndTheClockGoesOn()
    {
        var time = new VirtualTimeProvider();
        time.EnableParallel(Ms(1), threads: 2);
        int ran = 0;
        for (int owner = 1; owner <= 6; owner++)
        {
            int self = owner;
            using (time.EnterOwner(owner))
            {
                time.Schedule(Ms(2), _ =>
                {
                    if (self == 3)
                    {
                        throw new InvalidDataException("owner 3 fails");
                    }

                    Interlocked.Increment(ref ran);
                }, null);
                time.Schedule(Ms(20), _ => Interlocked.Increment(ref ran), null);
            }
        }

        Assert.That(() => time.Advance(Ms(5)), Throws.TypeOf<InvalidDataException>());
        time.Advance(Ms(30));
        time.StopWorkers();
        Assert.That(ran, Is.EqualTo(5 + 6), "the other owners' events all ran, then or later");
    }

    [Test]
    public void EnableParallel_RefusesBadValues_AndAClockAlreadyInUse()
    {
        var time = new VirtualTimeProvider();
        Assert.That(() => time.EnableParallel(TimeSpan.Zero, 2), Throws.InstanceOf<ArgumentOutOfRangeException>());
        Assert.That(() => time.EnableParallel(Ms(1), 0), Throws.InstanceOf<ArgumentOutOfRangeException>());
        time.Schedule(Ms(1), _ => { }, null);
        Assert.That(() => time.EnableParallel(Ms(1), 2), Throws.InvalidOperationException.With.Message.Contains("before anything is scheduled"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ALossyMemoryNetwork_InParallelWindows_DeliversTheSameTrace_WithOneThreadOrTwo()
    {
        static List<string> Run(int threads)
        {
            var time = new VirtualTimeProvider();
            time.EnableParallel(Ms(1), threads);
            var network = new MemoryNetwork(new NetworkPolicy { Seed = 5, Delay = Ms(1), Jitter = Ms(2), DropProbability = 0.2, DuplicateProbability = 0.1 }, time);
            var trace = new List<TraceEntry>();
            var nodes = new List<MemoryTransport>();
            var timers = new List<ITimer>();
            for (int i = 1; i <= 12; i++)
            {
                using (time.EnterOwner(i))
                {
                    var node = network.CreateTransport();
                    node.StartAsync(new TraceHandler(node.LocalEndpoint, time, trace)).AsTask().GetAwaiter().GetResult();
                    nodes.Add(node);
                    var random = new Random(i);
                    timers.Add(time.CreateTimer(_ =>
                    {
                        var to = nodes[random.Next(nodes.Count)].LocalEndpoint;
                        byte[] body = [(byte)random.Next(256), (byte)node.LocalEndpoint.Port];
                        node.SendDatagram(to, body);
                        node.SendFrame(to, body);
                    }, null, TimeSpan.FromTicks(random.Next(30_000)), Ms(2)));
                }
            }

            time.Advance(Ms(300));
            time.StopWorkers();
            return [.. trace.Select(e => $"{e.At.Ticks} {e.Kind} {e.Node}<-{e.Peer} {Convert.ToHexString(e.Body)}").Order(StringComparer.Ordinal)];
        }

        var one = Run(1);
        Assert.That(one, Has.Count.GreaterThan(1_000));
        Assert.That(Run(2), Is.EqualTo(one));
    }
}
