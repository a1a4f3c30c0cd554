using Engine.Transport.Memory;

namespace Engine.Tests.Transport.Memory;

public sealed class VirtualTimeProviderTests
{
    private static TimeSpan Ms(double ms) => TimeSpan.FromMilliseconds(ms);

    [Test]
    public void Events_RunInDueTimeOrder_ThenInSchedulingOrder_WithTheClockAtEachDueTime()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var ran = new List<(string Name, TimeSpan At)>();
        void Add(string name, double delayMs) =>
            time.Schedule(Ms(delayMs), state => ran.Add(((string)state!, time.GetUtcNow() - start)), name);

        Add("c", 30);
        Add("a1", 10);
        Add("a2", 10);
        Add("b", 20);
        Add("now", 0);
        using var timer = time.CreateTimer(_ => ran.Add(("timer", time.GetUtcNow() - start)), null, Ms(10), Timeout.InfiniteTimeSpan);
        Add("a3", 10);

        Assert.That(ran, Is.Empty, "nothing runs before time is advanced");
        int count = time.Advance(Ms(100));

        Assert.That(count, Is.EqualTo(7));
        Assert.That(ran, Is.EqualTo(new[]
        {
            ("now", Ms(0)), ("a1", Ms(10)), ("a2", Ms(10)), ("timer", Ms(10)), ("a3", Ms(10)), ("b", Ms(20)), ("c", Ms(30)),
        }));
        Assert.That(time.GetUtcNow() - start, Is.EqualTo(Ms(100)));
    }

    [Test]
    public void ManyEvents_InAndOutOfDueOrder_AndScheduledByCallbacks_RunInDueThenSchedulingOrder()
    {
        // One-shot events in due order take the FIFO lane, the others the heap: the merged order must be the heap's alone.
        var time = new VirtualTimeProvider();
        var random = new Random(7);
        var expected = new List<(long Due, int Order)>();
        var ran = new List<(long Due, int Order)>();
        int order = 0;
        void Add(long delayTicks, int depth)
        {
            var key = (time.GetUtcNow().UtcTicks + delayTicks, order++);
            expected.Add(key);
            time.Schedule(TimeSpan.FromTicks(delayTicks), _ =>
            {
                ran.Add(key);
                Assert.That(time.GetUtcNow().UtcTicks, Is.EqualTo(key.Item1));
                if (depth < 2)
                {
                    Add(random.Next(3) * 10, depth + 1); // often zero: in order with the lane's tail
                }
            }, null);
        }

        for (int i = 0; i < 2000; i++)
        {
            Add(random.Next(4) == 0 ? random.Next(1000) : 1000 + (i * 3), 0);
        }

        time.Advance(TimeSpan.FromTicks(1_000_000));

        Assert.That(ran, Is.EqualTo(expected.OrderBy(e => e.Due).ThenBy(e => e.Order)));
        Assert.That(time.PendingEvents, Is.Zero);
    }

    [Test]
    public void Advance_RunsOnlyWhatIsDue()
    {
        var time = new VirtualTimeProvider();
        int fired = 0;
        time.Schedule(Ms(50), _ => fired++, null);

        time.Advance(Ms(49.9));
        Assert.That(fired, Is.Zero);
        time.Advance(Ms(0.1));
        Assert.That(fired, Is.EqualTo(1));
        Assert.That(time.PendingEvents, Is.Zero);
    }

    [Test]
    public void PeriodicTimer_FiresEveryPeriod_FromItsDueTime()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var fires = new List<TimeSpan>();
        using var timer = time.CreateTimer(_ => fires.Add(time.GetUtcNow() - start), null, Ms(10), Ms(25));

        time.Advance(Ms(100));

        Assert.That(fires, Is.EqualTo(new[] { Ms(10), Ms(35), Ms(60), Ms(85) }));
    }

    [Test]
    public void Change_Reschedules_AndTheOldDueTimeNeverFires()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var fires = new List<TimeSpan>();
        using var timer = time.CreateTimer(_ => fires.Add(time.GetUtcNow() - start), null, Ms(50), Timeout.InfiniteTimeSpan);

        time.Advance(Ms(20));
        Assert.That(timer.Change(Ms(10), Timeout.InfiniteTimeSpan), Is.True);
        time.Advance(Ms(100));

        Assert.That(fires, Is.EqualTo(new[] { Ms(30) }));
        Assert.That(time.PendingEvents, Is.Zero);
    }

    [Test]
    public void Change_ToInfinite_Disarms_AndChangeAgain_Rearms()
    {
        var time = new VirtualTimeProvider();
        int fired = 0;
        using var timer = time.CreateTimer(_ => fired++, null, Ms(10), Ms(10));

        time.Advance(Ms(25));
        timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        time.Advance(Ms(100));
        Assert.That(fired, Is.EqualTo(2));

        timer.Change(TimeSpan.Zero, Timeout.InfiniteTimeSpan);
        time.Advance(TimeSpan.Zero);
        Assert.That(fired, Is.EqualTo(3), "a zero due time fires on the next advance, even by zero");
    }

    [Test]
    public void Dispose_StopsTheTimer_AndChangeAfterDispose_ReturnsFalse()
    {
        var time = new VirtualTimeProvider();
        int fired = 0;
        var timer = time.CreateTimer(_ => fired++, null, Ms(10), Ms(10));

        time.Advance(Ms(15));
        timer.Dispose();
        time.Advance(Ms(100));

        Assert.That(fired, Is.EqualTo(1));
        Assert.That(timer.Change(Ms(1), Ms(1)), Is.False);
        Assert.That(time.PendingEvents, Is.Zero);
    }

    [Test]
    public void Callbacks_MayDisposeOrChangeTheirOwnTimer()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var fires = new List<TimeSpan>();
        ITimer? self = null;
        self = time.CreateTimer(_ =>
        {
            fires.Add(time.GetUtcNow() - start);
            if (fires.Count == 2)
            {
                self!.Change(Ms(100), Timeout.InfiniteTimeSpan); // periodic 10 ms becomes a one-shot 100 ms later
            }
        }, null, Ms(10), Ms(10));
        var selfDisposing = time.CreateTimer(state => ((ITimer)state!).Dispose(), null, Ms(5), Ms(5));
        selfDisposing.Dispose();

        time.Advance(Ms(500));

        Assert.That(fires, Is.EqualTo(new[] { Ms(10), Ms(20), Ms(120) }));
        self.Dispose();
    }

    [Test]
    public void RunUntil_RunsEventsDueAtTheTargetInclusive_AndMovesTheClockThere()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var ran = new List<int>();
        time.Schedule(Ms(10), _ => ran.Add(10), null);
        time.Schedule(Ms(20), _ => ran.Add(20), null);
        time.Schedule(Ms(21), _ => ran.Add(21), null);

        int count = time.RunUntil(start + Ms(20));

        Assert.That(count, Is.EqualTo(2));
        Assert.That(ran, Is.EqualTo((int[])[10, 20]));
        Assert.That(time.GetUtcNow(), Is.EqualTo(start + Ms(20)));
        Assert.That(time.PendingEvents, Is.EqualTo(1));
    }

    [Test]
    public void RunUntilIdle_JumpsToEachEvent_AndStopsAtTheLimitWhenTimersArePeriodic()
    {
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        time.Schedule(TimeSpan.FromHours(3), _ => time.Schedule(TimeSpan.FromHours(1), _ => { }, null), null);

        Assert.That(time.RunUntilIdle(100), Is.EqualTo(2));
        Assert.That(time.GetUtcNow() - start, Is.EqualTo(TimeSpan.FromHours(4)));

        int fired = 0;
        using var periodic = time.CreateTimer(_ => fired++, null, Ms(1), Ms(1));
        Assert.That(time.RunUntilIdle(1000), Is.EqualTo(1000));
        Assert.That(fired, Is.EqualTo(1000));
    }

    [Test]
    public void Timestamps_AgreeWithGetUtcNow()
    {
        var time = new VirtualTimeProvider(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero));
        long t0 = time.GetTimestamp();
        var now0 = time.GetUtcNow();

        time.Advance(Ms(1234.5));

        Assert.That(time.GetElapsedTime(t0), Is.EqualTo(Ms(1234.5)));
        Assert.That(time.GetUtcNow() - now0, Is.EqualTo(Ms(1234.5)));
        Assert.That(now0, Is.EqualTo(new DateTimeOffset(2024, 5, 6, 7, 8, 9, TimeSpan.Zero)));
        Assert.That(time.GetElapsedTime(t0, time.GetTimestamp()), Is.EqualTo(Ms(1234.5)));
    }

    [Test]
    public void TaskDelay_OnVirtualTime_CompletesOnlyWhenTimeIsAdvanced()
    {
        var time = new VirtualTimeProvider();
        var delay = Task.Delay(TimeSpan.FromSeconds(5), time);

        time.Advance(Ms(4999));
        Assert.That(delay.IsCompleted, Is.False);
        time.Advance(Ms(1));
        Assert.That(delay.IsCompletedSuccessfully, Is.True);
    }

    [Test]
    public void AdvancingFromACallback_Throws()
    {
        var time = new VirtualTimeProvider();
        time.Schedule(Ms(1), _ => time.Advance(Ms(1)), null);

        Assert.Throws<InvalidOperationException>(() => time.Advance(Ms(5)));
        Assert.That(time.Advance(Ms(5)), Is.Zero, "the clock is usable again after the failed callback");
    }

    [Test]
    public void ManyTimers_ReArmedRepeatedly_EachFireOnceAtTheirLastDueTime()
    {
        // 200,000 timers armed then re-armed 5 times each: 1.2 million heap entries, a million of them tombstones to sweep.
        const int Timers = 200_000;
        var time = new VirtualTimeProvider();
        var start = time.GetUtcNow();
        var firedAt = new long[Timers];
        var fireCount = new int[Timers];
        var timers = new ITimer[Timers];
        static TimeSpan DueOf(int timer, int round) => TimeSpan.FromMilliseconds(1 + ((timer * 7 + round) % 1000));
        for (int i = 0; i < Timers; i++)
        {
            int index = i;
            timers[i] = time.CreateTimer(_ =>
            {
                firedAt[index] = (time.GetUtcNow() - start).Ticks;
                fireCount[index]++;
            }, null, TimeSpan.FromHours(1), Timeout.InfiniteTimeSpan);
        }

        for (int round = 0; round < 5; round++)
        {
            for (int i = 0; i < Timers; i++)
            {
                timers[i].Change(DueOf(i, round), Timeout.InfiniteTimeSpan);
            }
        }

        Assert.That(time.PendingEvents, Is.EqualTo(Timers));
        int ran = time.RunUntilIdle(int.MaxValue);

        Assert.That(ran, Is.EqualTo(Timers));
        for (int i = 0; i < Timers; i++)
        {
            if (fireCount[i] != 1 || firedAt[i] != DueOf(i, 4).Ticks)
            {
                Assert.Fail($"timer {i} fired {fireCount[i]} times, last at {TimeSpan.FromTicks(firedAt[i])}, expected once at {DueOf(i, 4)}");
            }
        }
    }
}
