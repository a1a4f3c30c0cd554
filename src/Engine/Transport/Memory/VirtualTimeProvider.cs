namespace Engine.Transport.Memory;

/// <summary>
/// A deterministic discrete-event clock for tests and simulation. Time stands still until the test moves it with
/// <see cref="Advance"/>, <see cref="RunUntil"/> or <see cref="RunUntilIdle"/>, which run the due events one at a time, in
/// (due time, scheduling order) order, <b>on the calling thread</b>, with the clock set to each event's due time.
/// </summary>
/// <remarks>
/// Single-threaded by design: callbacks never run concurrently and never on a pool thread, so a simulation driven from one
/// thread is reproducible. Scheduling (<see cref="CreateTimer"/>, <see cref="ITimer.Change"/>, <see cref="Schedule(TimeSpan, Action{object?}, object?)"/>) is
/// thread-safe, but work another thread schedules interleaves with the run nondeterministically; callbacks must not advance
/// time themselves. Events live in one binary heap; cancelling or re-arming a timer leaves its old entry behind as a
/// tombstone that is skipped when it surfaces (and swept when tombstones outnumber live entries), so a million timers cost
/// a million small objects and O(log n) per operation. One-shot events (<see cref="Schedule(TimeSpan, Action{object?}, object?)"/>) whose due time is not
/// before the last one queued there take a FIFO lane instead of the heap: a network whose delay is constant (zero, by
/// default) schedules every delivery in due order, so each costs O(1). The runner takes the smaller (due time, scheduling
/// order) of the heap's head and the lane's, so the order is exactly the same as with the heap alone.
/// </remarks>
internal sealed partial class VirtualTimeProvider : TimeProvider
{
    /// <summary>Where the clock starts unless told otherwise.</summary>
    public static readonly DateTimeOffset DefaultStart = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private const int MinTombstonesToSweep = 1024;

    private static readonly long MaxTicks = DateTimeOffset.MaxValue.UtcTicks;

    private readonly Lock _gate = new();
    private readonly PriorityQueue<ScheduledEvent, EventKey> _queue = new();
    private readonly Queue<(ScheduledEvent Event, EventKey Key)> _lane = new();
    private long _laneTailDue = long.MinValue;
    private long _nowTicks;
    private long _sequence;
    private int _tombstones;
    private int _advancing;
    private long _eventsRun;

    public VirtualTimeProvider()
        : this(DefaultStart)
    {
    }

    public VirtualTimeProvider(DateTimeOffset start) => _nowTicks = start.UtcTicks;

    /// <summary>Timestamps are UTC ticks, so <see cref="TimeProvider.GetElapsedTime(long)"/> agrees with <see cref="GetUtcNow"/>.</summary>
    public override long TimestampFrequency => TimeSpan.TicksPerSecond;

    /// <summary>The simulation has no local time zone: UTC, so results do not depend on the machine.</summary>
    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;

    /// <summary>Events scheduled and not yet run (cancelled timers excluded).</summary>
    public int PendingEvents
    {
        get
        {
            lock (_gate)
            {
                int owned = 0;
                foreach (var partition in _partitions)
                {
                    owned += partition is null ? 0 : partition.Queue.Count - partition.Tombstones;
                }

                return _queue.Count - _tombstones + _lane.Count + owned;
            }
        }
    }

    /// <summary>Events run since creation.</summary>
    public long EventsRun => Volatile.Read(ref _eventsRun);

    public override DateTimeOffset GetUtcNow() => new(NowTicks, TimeSpan.Zero);

    public override long GetTimestamp() => NowTicks;

    /// <summary>
    /// A timer whose callback runs only while time is advanced. <paramref name="period"/> of zero or
    /// <see cref="Timeout.InfiniteTimeSpan"/> makes it one-shot; <paramref name="dueTime"/> of
    /// <see cref="Timeout.InfiniteTimeSpan"/> leaves it disarmed.
    /// </summary>
    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        ArgumentNullException.ThrowIfNull(callback);
        var timer = new VirtualTimer(this, callback, state) { Owner = CurrentOwner };
        timer.Change(dueTime, period);
        return timer;
    }

    /// <summary>Runs <paramref name="callback"/>(<paramref name="state"/>) once, <paramref name="delay"/> from now. No timer object is created.</summary>
    public void Schedule(TimeSpan delay, Action<object?> callback, object? state) => Schedule(delay, callback, state, CurrentOwner);

    /// <summary>As above, for <paramref name="owner"/>'s events (see <see cref="EnableParallel"/>; 0: the shared lane).</summary>
    public void Schedule(TimeSpan delay, Action<object?> callback, object? state, int owner)
    {
        ArgumentNullException.ThrowIfNull(callback);
        ArgumentOutOfRangeException.ThrowIfLessThan(delay, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfNegative(owner);
        if (TryScheduleOwned(delay, new ScheduledEvent(callback, state, 0), owner))
        {
            return;
        }

        lock (_gate)
        {
            long due = DueTicks(delay.Ticks);
            if (due >= _laneTailDue)
            {
                // In due order with everything already in the lane: O(1), and (due, sequence) order is kept.
                _laneTailDue = due;
                _lane.Enqueue((new ScheduledEvent(callback, state, 0), new EventKey(due, _sequence++)));
                return;
            }

            Enqueue(new ScheduledEvent(callback, state, 0), due);
        }
    }

    /// <summary>Moves the clock forward by <paramref name="duration"/>, running every event due by then. Returns how many ran.</summary>
    public int Advance(TimeSpan duration)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(duration, TimeSpan.Zero);
        return RunUntil(new DateTimeOffset(DueTicks(duration.Ticks), TimeSpan.Zero));
    }

    /// <summary>Runs every event due at or before <paramref name="target"/>, then sets the clock to it (if later). Returns how many ran.</summary>
    public int RunUntil(DateTimeOffset target)
    {
        long targetTicks = target.UtcTicks;
        if (IsParallel)
        {
            return RunParallel(targetTicks, int.MaxValue, setClock: true);
        }

        int ran = 0;
        EnterRun();
        try
        {
            while (TryRunNext(targetTicks))
            {
                ran++;
            }

            lock (_gate)
            {
                if (targetTicks > _nowTicks)
                {
                    Volatile.Write(ref _nowTicks, targetTicks);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _advancing, 0);
        }

        return ran;
    }

    /// <summary>
    /// Runs events in order, jumping the clock to each, until none is left or <paramref name="maxEvents"/> have run (periodic
    /// timers never let the queue empty; in parallel windows the limit is checked between windows, so the last window may
    /// run a few more). Returns how many ran.
    /// </summary>
    public int RunUntilIdle(int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(maxEvents);
        if (IsParallel)
        {
            return RunParallel(MaxTicks, maxEvents, setClock: false);
        }

        int ran = 0;
        EnterRun();
        try
        {
            while (ran < maxEvents && TryRunNext(MaxTicks))
            {
                ran++;
            }
        }
        finally
        {
            Volatile.Write(ref _advancing, 0);
        }

        return ran;
    }

    private void EnterRun()
    {
        if (Interlocked.Exchange(ref _advancing, 1) != 0)
        {
            throw new InvalidOperationException("Virtual time is already being advanced (a callback or another thread is running events).");
        }
    }

    private bool TryRunNext(long limitTicks)
    {
        ScheduledEvent next;
        lock (_gate)
        {
            while (true)
            {
                bool inHeap = _queue.TryPeek(out next, out var key);
                if (_lane.TryPeek(out var laneHead) && (!inHeap || laneHead.Key.CompareTo(key) < 0))
                {
                    if (laneHead.Key.Due > limitTicks)
                    {
                        return false;
                    }

                    _lane.Dequeue();
                    next = laneHead.Event;
                    Volatile.Write(ref _nowTicks, laneHead.Key.Due);
                    break;
                }

                if (!inHeap || key.Due > limitTicks)
                {
                    return false;
                }

                _queue.Dequeue();
                if (next.Target is VirtualTimer timer)
                {
                    if (timer.Generation != next.Generation)
                    {
                        _tombstones--;
                        continue;
                    }

                    // Re-arm a periodic timer before its callback, so the callback's own Change/Dispose wins.
                    if (timer.PeriodTicks > 0)
                    {
                        Enqueue(next, SaturatingAdd(key.Due, timer.PeriodTicks));
                    }
                    else
                    {
                        timer.Pending = false;
                    }
                }

                Volatile.Write(ref _nowTicks, key.Due);
                break;
            }
        }

        _eventsRun++;
        next.Invoke();
        return true;
    }

    private bool Change(VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        if (dueTime < TimeSpan.Zero && dueTime != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(dueTime), dueTime, "must be non-negative or Timeout.InfiniteTimeSpan");
        }

        if (period < TimeSpan.Zero && period != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException(nameof(period), period, "must be non-negative or Timeout.InfiniteTimeSpan");
        }

        if (OwnedTimerContext(timer) is { } context)
        {
            return ChangeOwned(context, timer, dueTime, period);
        }

        lock (_gate)
        {
            if (timer.Disposed)
            {
                return false;
            }

            if (_windowOpen && PartitionOf(timer.Owner) is not null)
            {
                // Another thread, while the timer's owner may be running in a window: changed once the window ends.
                _deferred.Add(() => Change(timer, dueTime, period));
                return true;
            }

            Cancel(timer);
            timer.PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
            if (dueTime != Timeout.InfiniteTimeSpan)
            {
                timer.Pending = true;
                EnqueueTimer(timer, DueTicks(dueTime.Ticks));
            }

            return true;
        }
    }

    private void DisposeTimer(VirtualTimer timer)
    {
        if (OwnedTimerContext(timer) is not null)
        {
            DisposeOnce(timer);
            return;
        }

        lock (_gate)
        {
            if (_windowOpen && PartitionOf(timer.Owner) is not null)
            {
                _deferred.Add(() => DisposeTimer(timer));
                return;
            }

            DisposeOnce(timer);
        }
    }

    // Under the lock, or by the timer's owner in a window.
    private void DisposeOnce(VirtualTimer timer)
    {
        if (!timer.Disposed)
        {
            timer.Disposed = true;
            Cancel(timer);
        }
    }

    // Turns the timer's queued entry (if any) into a tombstone.
    private void Cancel(VirtualTimer timer)
    {
        timer.Generation++;
        if (!timer.Pending)
        {
            return;
        }

        timer.Pending = false;
        if (PartitionOf(timer.Owner) is { } partition)
        {
            partition.Cancelled();
            return;
        }

        _tombstones++;
        if (_tombstones >= MinTombstonesToSweep && _tombstones * 2 > _queue.Count)
        {
            Sweep();
        }
    }

    private void Sweep()
    {
        SweepQueue(_queue, _tombstones);
        _tombstones = 0;
    }

    private static void SweepQueue(PriorityQueue<ScheduledEvent, EventKey> queue, int tombstones)
    {
        var live = new List<(ScheduledEvent, EventKey)>(queue.Count - tombstones);
        foreach (var (item, key) in queue.UnorderedItems)
        {
            if (item.Target is not VirtualTimer timer || timer.Generation == item.Generation)
            {
                live.Add((item, key));
            }
        }

        queue.Clear();
        queue.EnqueueRange(live);
    }

    /// <summary>Queues a timer's firing where its owner's events go (the shared heap, or its partition). Caller holds the lock.</summary>
    private void EnqueueTimer(VirtualTimer timer, long due)
    {
        var item = new ScheduledEvent(timer, null, timer.Generation);
        if (PartitionOf(timer.Owner) is { } partition)
        {
            EnqueueOwnedLocked(partition, item, due);
        }
        else
        {
            Enqueue(item, due);
        }
    }

    private void Enqueue(ScheduledEvent item, long due) => _queue.Enqueue(item, new EventKey(due, _sequence++));

    private long DueTicks(long delayTicks) => SaturatingAdd(NowTicks, delayTicks);

    private static long SaturatingAdd(long ticks, long delta) => delta >= MaxTicks - ticks ? MaxTicks : ticks + delta;

    /// <summary>A heap entry: a timer (valid while its generation matches) or a one-shot action.</summary>
    internal readonly struct ScheduledEvent(object target, object? state, long generation)
    {
        public object Target { get; } = target;

        public object? State { get; } = state;

        public long Generation { get; } = generation;

        /// <summary>Runs the timer's callback or the one-shot action.</summary>
        public void Invoke()
        {
            if (Target is VirtualTimer timer)
            {
                timer.Callback(timer.State);
            }
            else
            {
                ((Action<object?>)Target)(State);
            }
        }
    }

    /// <summary>Heap order: due time, then scheduling order (FIFO among equal due times).</summary>
    internal readonly struct EventKey(long due, long sequence) : IComparable<EventKey>
    {
        public long Due { get; } = due;

        public long Sequence { get; } = sequence;

        public int CompareTo(EventKey other)
        {
            int c = Due.CompareTo(other.Due);
            return c != 0 ? c : Sequence.CompareTo(other.Sequence);
        }
    }

    internal sealed class VirtualTimer(VirtualTimeProvider provider, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;

        public object? State { get; } = state;

        /// <summary>Whose events its firings are (the ambient owner when it was created; see <see cref="EnableParallel"/>).</summary>
        public int Owner { get; init; }

        // Guarded by the provider's lock (in a parallel window, by the thread running the timer's owner).
        public long Generation { get; set; }

        public long PeriodTicks { get; set; }

        public bool Pending { get; set; }

        public bool Disposed { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period) => provider.Change(this, dueTime, period);

        public void Dispose() => provider.DisposeTimer(this);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
