using System.Runtime.ExceptionServices;

namespace Engine.Transport.Memory;

/// <content>
/// Parallel windows: a conservative parallel discrete-event run that gives the same result whatever the number of
/// threads. Each event belongs to an owner (a simulated node: the ambient owner when it was scheduled, see
/// <see cref="EnterOwner"/>; a delivery belongs to the node it is delivered to). Events between owners are never closer
/// than the lookahead (the network's delay), so every owner's events within one window, [t, t + lookahead) from the
/// earliest event t, depend on nothing another owner does in that window: the owners of a window run side by side, each
/// one's events in its own (due time, scheduling order) order, with the clock each callback reads set to its own event's
/// due time. What an owner schedules for another lands in the thread's outbox; at the end of the window the outboxes are
/// merged in (due time, sending owner, sending order) order, which does not depend on which thread ran what. Events of
/// owner 0 (scheduled outside any owner's scope) run alone, between windows, as in the serial clock.
/// </content>
[System.Diagnostics.CodeAnalysis.SuppressMessage("Design", "CA1001", Justification = "A TimeProvider is not disposable: the workers' semaphores are disposed by StopWorkers.")]
internal sealed partial class VirtualTimeProvider
{
    /// <summary>A window with fewer owners than this runs on the calling thread alone (waking a worker costs more).</summary>
    private const int MinOwnersToShare = 4;

    [ThreadStatic]
    private static RunContext? _threadContext;

    private static readonly Comparison<Outgoing> OutgoingOrder = static (a, b) =>
    {
        int c = a.Due.CompareTo(b.Due);
        if (c == 0)
        {
            c = a.Sender.CompareTo(b.Sender);
        }

        return c != 0 ? c : a.SenderSequence.CompareTo(b.SenderSequence);
    };

    // Guarded by _gate outside windows; during a window, only the partitions' own runners touch them.
    private readonly PriorityQueue<Partition, long> _ready = new();
    private readonly List<Partition> _active = [];
    private readonly List<Outgoing> _merge = [];
    private readonly List<Action> _deferred = [];
    private readonly Lock _failureGate = new();
    private Partition?[] _partitions = [];
    private long _lookaheadTicks;
    private int _threads = 1;
    private RunContext[] _workerContexts = [];
    private Thread[] _workers = [];
    private SemaphoreSlim? _startWork;
    private SemaphoreSlim? _workDone;
    private long _windowEnd;
    private int _nextActive;
    private bool _windowOpen;
    private volatile bool _stopping;
    private volatile bool _disposed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>True once <see cref="EnableParallel"/> was called.</summary>
    public bool IsParallel => Volatile.Read(ref _lookaheadTicks) > 0;

    /// <summary>The window length set by <see cref="EnableParallel"/> (zero when serial).</summary>
    public TimeSpan Lookahead => TimeSpan.FromTicks(Volatile.Read(ref _lookaheadTicks));

    /// <summary>The owner whose events this thread runs or schedules now (0: none).</summary>
    internal int CurrentOwner => _threadContext is { } context && ReferenceEquals(context.Provider, this) ? context.Owner : 0;

    private long NowTicks => _threadContext is { InEvent: true } context && ReferenceEquals(context.Provider, this) ? context.Now : Volatile.Read(ref _nowTicks);

    /// <summary>
    /// Runs owners' events in parallel windows of <paramref name="lookahead"/> on up to <paramref name="threads"/> threads
    /// (the calling one included). Every event scheduled for another owner must be due at least
    /// <paramref name="lookahead"/> after the event that schedules it (a <see cref="MemoryNetwork"/> whose
    /// <see cref="NetworkPolicy.Delay"/> is at least the lookahead); one closer is refused with
    /// <see cref="InvalidOperationException"/>. Call before anything is scheduled. The result of a run depends on the
    /// lookahead (it orders simultaneous events differently than the serial clock) but not on <paramref name="threads"/>.
    /// </summary>
    public void EnableParallel(TimeSpan lookahead, int threads)
    {
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(lookahead, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(threads, 1);
        lock (_gate)
        {
            if (IsParallel)
            {
                throw new InvalidOperationException("Parallel windows are already enabled on this clock.");
            }

            if (_queue.Count + _lane.Count > 0)
            {
                throw new InvalidOperationException("Enable parallel windows before anything is scheduled on the clock.");
            }

            _threads = threads;
            Volatile.Write(ref _lookaheadTicks, lookahead.Ticks);
        }
    }

    /// <summary>
    /// Until the scope is disposed, what this thread schedules (timers it creates, one-shot events) belongs to
    /// <paramref name="owner"/> (1 or more: a node; 0: shared). Used while creating and starting a node outside any
    /// event; inside an event the running event's owner is the ambient one, and entering another is refused.
    /// </summary>
    public OwnerScope EnterOwner(int owner)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(owner);
        var previous = _threadContext;
        if (previous is { InEvent: true })
        {
            throw new InvalidOperationException("An event cannot enter another owner's scope.");
        }

        var context = previous is not null && ReferenceEquals(previous.Provider, this) ? previous : new RunContext(this);
        var scope = new OwnerScope(previous, context, context.Owner);
        context.Owner = owner;
        _threadContext = context;
        return scope;
    }

    /// <summary>Stops the worker threads of parallel windows, if any (the clock still runs, on the calling thread alone).</summary>
    public void StopWorkers()
    {
        Thread[] workers;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            workers = _workers;
            _threads = 1;
        }

        if (workers.Length > 0)
        {
            _startWork!.Release(workers.Length);
            foreach (var worker in workers)
            {
                worker.Join();
            }

            _startWork.Dispose();
            _workDone!.Dispose();
        }
    }

    /// <summary>Schedules an owned event (parallel mode); false when it goes to the shared queue instead.</summary>
    private bool TryScheduleOwned(TimeSpan delay, ScheduledEvent item, int owner)
    {
        if (!IsParallel)
        {
            return false;
        }

        if (WindowContext() is { } context)
        {
            ScheduleInWindow(context, owner, item, SaturatingAdd(context.Now, delay.Ticks));
            return true;
        }

        if (owner == 0)
        {
            return false;
        }

        lock (_gate)
        {
            long due = DueTicks(delay.Ticks);
            if (_windowOpen)
            {
                // Another thread, while a window runs: queued once it ends.
                _deferred.Add(() => Schedule(TimeSpan.FromTicks(Math.Max(0, due - Volatile.Read(ref _nowTicks))), (Action<object?>)item.Target, item.State, owner));
                return true;
            }

            EnqueueOwnedLocked(PartitionFor(owner), item, due);
        }

        return true;
    }

    /// <summary>This thread's context while it runs an event of a window; null otherwise.</summary>
    private RunContext? WindowContext() => _threadContext is { InEvent: true } context && ReferenceEquals(context.Provider, this) ? context : null;

    private void ScheduleInWindow(RunContext context, int owner, ScheduledEvent item, long due)
    {
        if (owner == context.Owner)
        {
            EnqueueLocal(context.Partition!, item, due);
            return;
        }

        if (due < _windowEnd)
        {
            throw new InvalidOperationException(
                $"Owner {context.Owner} scheduled an event for owner {owner} {TimeSpan.FromTicks(due - context.Now).TotalMilliseconds} ms ahead, inside the parallel window: " +
                $"events between owners must be at least the lookahead ({Lookahead.TotalMilliseconds} ms, the network's delay) apart.");
        }

        context.Outbox.Add(new Outgoing(item, due, owner, context.Owner, context.Partition!.SentSequence++));
    }

    /// <summary>
    /// The context to change <paramref name="timer"/> in without the lock (its owner's runner, inside a window); null
    /// when the lock is the way (outside windows, or serial). Changing another owner's timer inside a window is refused.
    /// </summary>
    private RunContext? OwnedTimerContext(VirtualTimer timer)
    {
        if (!IsParallel || WindowContext() is not { } context)
        {
            return null;
        }

        if (timer.Owner != context.Owner)
        {
            throw new InvalidOperationException($"Owner {context.Owner} changed a timer of owner {timer.Owner} inside a parallel window: a timer is changed by its owner's events only.");
        }

        return context;
    }

    private bool ChangeOwned(RunContext context, VirtualTimer timer, TimeSpan dueTime, TimeSpan period)
    {
        if (timer.Disposed)
        {
            return false;
        }

        Cancel(timer);
        timer.PeriodTicks = period == Timeout.InfiniteTimeSpan ? 0 : period.Ticks;
        if (dueTime != Timeout.InfiniteTimeSpan)
        {
            timer.Pending = true;
            EnqueueLocal(context.Partition!, new ScheduledEvent(timer, null, timer.Generation), SaturatingAdd(context.Now, dueTime.Ticks));
        }

        return true;
    }

    /// <summary>The partition of <paramref name="owner"/>'s events; null for the shared queue (owner 0, or serial).</summary>
    private Partition? PartitionOf(int owner) => owner > 0 && IsParallel ? PartitionFor(owner) : null;

    /// <summary>The owner's partition, created when first needed (outside windows, under the lock; an owner running in a window has one).</summary>
    private Partition PartitionFor(int owner)
    {
        var partitions = Volatile.Read(ref _partitions);
        if (owner < partitions.Length && partitions[owner] is { } partition)
        {
            return partition;
        }

        if (owner >= partitions.Length)
        {
            Array.Resize(ref partitions, Math.Max(owner + 1, partitions.Length * 2));
        }

        partition = new Partition(owner);
        partitions[owner] = partition;
        Volatile.Write(ref _partitions, partitions);
        return partition;
    }

    private static void EnqueueLocal(Partition partition, ScheduledEvent item, long due) =>
        partition.Queue.Enqueue(item, new EventKey(due, partition.Sequence++));

    /// <summary>Queues an owned event and makes its owner ready for the window that reaches it (caller holds the lock).</summary>
    private void EnqueueOwnedLocked(Partition partition, ScheduledEvent item, long due)
    {
        EnqueueLocal(partition, item, due);
        MakeReadyLocked(partition, due);
    }

    private void MakeReadyLocked(Partition partition, long due)
    {
        // Entries are never removed: one that no longer matches the partition's ReadyDue is skipped when it surfaces.
        if (due < partition.ReadyDue)
        {
            partition.ReadyDue = due;
            _ready.Enqueue(partition, due);
        }
    }

    /// <summary>The earliest due time among the owners' events (an upper bound when a timer there was cancelled).</summary>
    private long OwnersHeadDueLocked()
    {
        while (_ready.TryPeek(out var partition, out long due))
        {
            if (due == partition.ReadyDue && !partition.Active)
            {
                return due;
            }

            _ready.Dequeue();
        }

        return long.MaxValue;
    }

    private long SharedHeadDueLocked()
    {
        long due = _queue.TryPeek(out _, out var key) ? key.Due : long.MaxValue;
        return _lane.TryPeek(out var laneHead) ? Math.Min(due, laneHead.Key.Due) : due;
    }

    /// <summary>Runs events due by <paramref name="limit"/> in windows (owners) and one at a time (shared events).</summary>
    private int RunParallel(long limit, int maxEvents, bool setClock)
    {
        EnterRun();
        var context = _threadContext is { } existing && ReferenceEquals(existing.Provider, this) ? existing : _threadContext = new RunContext(this);
        int savedOwner = context.Owner;
        int ran = 0;
        try
        {
            while (ran < maxEvents)
            {
                long ownersDue, sharedDue;
                lock (_gate)
                {
                    ownersDue = OwnersHeadDueLocked();
                    sharedDue = SharedHeadDueLocked();
                }

                if (Math.Min(ownersDue, sharedDue) > limit)
                {
                    break;
                }

                if (sharedDue <= ownersDue)
                {
                    // Shared events run alone, before owners' events of the same time.
                    if (TryRunNext(Math.Min(limit, ownersDue)))
                    {
                        ran++;
                    }

                    continue;
                }

                long end = Math.Min(SaturatingAdd(ownersDue, Volatile.Read(ref _lookaheadTicks)), sharedDue);
                if (limit < MaxTicks)
                {
                    end = Math.Min(end, limit + 1);
                }

                ran += RunWindow(context, end);
            }

            if (setClock)
            {
                lock (_gate)
                {
                    if (limit > _nowTicks)
                    {
                        Volatile.Write(ref _nowTicks, limit);
                    }
                }
            }
        }
        finally
        {
            context.Owner = savedOwner;
            context.Partition = null;
            Volatile.Write(ref _advancing, 0);
        }

        return ran;
    }

    /// <summary>Runs every owner's events due before <paramref name="end"/>, side by side; returns how many ran.</summary>
    private int RunWindow(RunContext context, long end)
    {
        lock (_gate)
        {
            _active.Clear();
            while (_ready.TryPeek(out var partition, out long due) && due < end)
            {
                _ready.Dequeue();
                if (due == partition.ReadyDue && !partition.Active)
                {
                    partition.ReadyDue = long.MaxValue;
                    partition.Active = true;
                    _active.Add(partition);
                }
            }

            _windowEnd = end;
            _nextActive = 0;
            _windowOpen = true;
        }

        int helpers = _active.Count >= MinOwnersToShare ? WakeWorkers() : 0;
        RunActive(context);
        for (int i = 0; i < helpers; i++)
        {
            _workDone!.Wait();
        }

        int ran = context.TakeRan(out long latest);
        List<Action>? deferred = null;
        lock (_gate)
        {
            foreach (var worker in _workerContexts)
            {
                ran += worker.TakeRan(out long workerLatest);
                latest = Math.Max(latest, workerLatest);
            }

            MergeOutboxesLocked(context);
            foreach (var partition in _active)
            {
                partition.Active = false;
                if (partition.Queue.TryPeek(out _, out var key))
                {
                    MakeReadyLocked(partition, key.Due);
                }
            }

            _active.Clear();
            _eventsRun += ran;
            if (latest > _nowTicks)
            {
                Volatile.Write(ref _nowTicks, latest);
            }

            _windowOpen = false;
            if (_deferred.Count > 0)
            {
                deferred = [.. _deferred];
                _deferred.Clear();
            }
        }

        deferred?.ForEach(static action => action());
        if (_failure is { } failure)
        {
            _failure = null;
            _stopping = false;
            failure.Throw();
        }

        return ran;
    }

    private void MergeOutboxesLocked(RunContext context)
    {
        _merge.Clear();
        _merge.AddRange(context.Outbox);
        context.Outbox.Clear();
        foreach (var worker in _workerContexts)
        {
            _merge.AddRange(worker.Outbox);
            worker.Outbox.Clear();
        }

        if (_merge.Count > 1)
        {
            _merge.Sort(OutgoingOrder);
        }

        foreach (var outgoing in _merge)
        {
            if (outgoing.Owner == 0)
            {
                Enqueue(outgoing.Event, outgoing.Due);
            }
            else
            {
                EnqueueOwnedLocked(PartitionFor(outgoing.Owner), outgoing.Event, outgoing.Due);
            }
        }

        _merge.Clear();
    }

    /// <summary>Starts the workers on the window's owners (creating them the first time); returns how many started.</summary>
    private int WakeWorkers()
    {
        if (_threads <= 1 || _disposed)
        {
            return 0;
        }

        if (_workers.Length == 0)
        {
            _startWork = new SemaphoreSlim(0);
            _workDone = new SemaphoreSlim(0);
            var contexts = new RunContext[_threads - 1];
            var workers = new Thread[_threads - 1];
            for (int i = 0; i < workers.Length; i++)
            {
                var workerContext = contexts[i] = new RunContext(this);
                workers[i] = new Thread(() => WorkerLoop(workerContext)) { IsBackground = true, Name = $"virtual-time-{i + 1}" };
                workers[i].Start();
            }

            _workerContexts = contexts;
            _workers = workers;
        }

        _startWork!.Release(_workers.Length);
        return _workers.Length;
    }

    private void WorkerLoop(RunContext context)
    {
        _threadContext = context;
        while (true)
        {
            _startWork!.Wait();
            if (_disposed)
            {
                return;
            }

            RunActive(context);
            _workDone!.Release();
        }
    }

    /// <summary>Takes the window's owners one after another until none is left (every thread of the window does).</summary>
    private void RunActive(RunContext context)
    {
        int i;
        while (!_stopping && (i = Interlocked.Increment(ref _nextActive) - 1) < _active.Count)
        {
            RunPartition(context, _active[i]);
        }
    }

    private void RunPartition(RunContext context, Partition partition)
    {
        context.Owner = partition.Owner;
        context.Partition = partition;
        long end = _windowEnd;
        var queue = partition.Queue;
        try
        {
            while (!_stopping && queue.TryPeek(out var next, out var key) && key.Due < end)
            {
                queue.Dequeue();
                if (next.Target is VirtualTimer timer)
                {
                    if (timer.Generation != next.Generation)
                    {
                        partition.Tombstones--;
                        continue;
                    }

                    // Re-armed before its callback, so the callback's own Change/Dispose wins.
                    if (timer.PeriodTicks > 0)
                    {
                        EnqueueLocal(partition, next, SaturatingAdd(key.Due, timer.PeriodTicks));
                    }
                    else
                    {
                        timer.Pending = false;
                    }
                }

                context.Now = key.Due;
                context.Ran++;
                context.Latest = Math.Max(context.Latest, key.Due);
                context.InEvent = true;
                try
                {
                    next.Invoke();
                }
                finally
                {
                    context.InEvent = false;
                }
            }
        }
        catch (Exception e)
        {
            // Thrown out of RunUntil once the window ends, as the serial clock would throw it; the rest stays queued.
            lock (_failureGate)
            {
                _failure ??= ExceptionDispatchInfo.Capture(e);
            }

            _stopping = true;
        }
    }

    /// <summary>Restores the owner scope in force before <see cref="EnterOwner"/>.</summary>
    public readonly struct OwnerScope : IDisposable
    {
        private readonly RunContext? _previous;
        private readonly RunContext _context;
        private readonly int _previousOwner;

        internal OwnerScope(RunContext? previous, RunContext context, int previousOwner)
        {
            _previous = previous;
            _context = context;
            _previousOwner = previousOwner;
        }

        /// <summary>Restores the previous owner.</summary>
        public void Dispose()
        {
            if (_context is null)
            {
                return;
            }

            _context.Owner = _previousOwner;
            _threadContext = _previous ?? _context;
        }
    }

    /// <summary>One thread's state for one clock: the ambient owner, and while it runs a window's event, that event's time.</summary>
    internal sealed class RunContext(VirtualTimeProvider provider)
    {
        public VirtualTimeProvider Provider { get; } = provider;

        public List<Outgoing> Outbox { get; } = [];

        public int Owner { get; set; }

        public Partition? Partition { get; set; }

        public bool InEvent { get; set; }

        public long Now { get; set; }

        public int Ran { get; set; }

        public long Latest { get; set; } = long.MinValue;

        public int TakeRan(out long latest)
        {
            latest = Latest;
            int ran = Ran;
            Ran = 0;
            Latest = long.MinValue;
            return ran;
        }
    }

    /// <summary>One owner's events: its own heap and scheduling order.</summary>
    internal sealed class Partition(int owner)
    {
        public int Owner { get; } = owner;

        public PriorityQueue<ScheduledEvent, EventKey> Queue { get; } = new();

        public long Sequence { get; set; }

        /// <summary>Events this owner scheduled for others in windows (their merge order among equal due times).</summary>
        public long SentSequence { get; set; }

        public int Tombstones { get; set; }

        /// <summary>The due time it waits under in the ready queue (long.MaxValue: not there).</summary>
        public long ReadyDue { get; set; } = long.MaxValue;

        /// <summary>Taken by the window running now.</summary>
        public bool Active { get; set; }

        public void Cancelled()
        {
            if (++Tombstones >= MinTombstonesToSweep && Tombstones * 2 > Queue.Count)
            {
                SweepQueue(Queue, Tombstones);
                Tombstones = 0;
            }
        }
    }

    /// <summary>An event one owner scheduled for another in a window, waiting for the merge.</summary>
    internal readonly record struct Outgoing(ScheduledEvent Event, long Due, int Owner, int Sender, long SenderSequence);
}
