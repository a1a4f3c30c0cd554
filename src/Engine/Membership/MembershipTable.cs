using System.Diagnostics.CodeAnalysis;

namespace Engine.Membership;

/// <summary>
/// The lock-free membership table: members keyed by PKI-ID, each with its state, <see cref="PeerTime"/>, endpoints,
/// organization, metadata and last-seen time. Lookups, updates, verdicts and samples take no lock and allocate
/// nothing once a member is known; an update lands only if its time is newer (one compare-and-swap), so stale news
/// never overwrites fresh news whatever the interleaving. See docs/MEMBERSHIP.md for the design.
/// </summary>
/// <remarks>
/// Timestamps are <see cref="TimeProvider.GetTimestamp"/> values of the <see cref="TimeProvider"/> given to the
/// constructor; the caller passes them in (one clock read per received batch, and deterministic tests).
/// </remarks>
public sealed partial class MembershipTable
{
    private readonly int _maxMembers;
    private readonly int _maxPkiIdLength;
    private readonly long _aliveTimeoutTicks;
    private readonly long _purgeAfterTicks;
    private readonly ulong _hashSeed;
    private readonly ulong _sampleSeed;
    private readonly AliveIndex _alive;
    private readonly ReachabilityTracker _tracker;
    private readonly OrgDirectory _orgs;

    private MemberIndex _index;
    private ulong _sampleCounter;
    private int _members;
    private int _aliveCount;
    private int _suspectCount;
    private int _deadCount;

    // Expiry and purge passes visit every member; these say when one could next change anything, so a pass that cannot
    // is skipped (O(1) instead of O(members) per check). Each is the earliest "due after" time of the members the last
    // pass saw, capped at one timeout (or purge time) after that pass, and lowered by news that makes a member due
    // sooner (added, heard from, died). Whoever lowers races nobody: a pass sets its cap first and lowers it at the end.
    private long _expiryDueAfter = long.MinValue;
    private long _purgeDueAfter = long.MinValue;
    private long _scannedPasses;

    /// <summary>Creates an empty table.</summary>
    /// <param name="options">Limits and timings (validated).</param>
    /// <param name="time">The clock whose timestamps the caller passes in (used for its frequency).</param>
    /// <param name="random">Seeds the table's hashing and sampling; pass a seeded <see cref="Random"/> for reproducible runs.</param>
    public MembershipTable(MembershipOptions options, TimeProvider time, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        _maxMembers = options.MaxMembers;
        _maxPkiIdLength = options.MaxPkiIdLength;
        _aliveTimeoutTicks = ToTicks(options.AliveExpirationTimeout, time);
        _purgeAfterTicks = ToTicks(options.PurgeAfter, time);
        _hashSeed = (ulong)random.NextInt64();
        _sampleSeed = (ulong)random.NextInt64();
        int initial = Math.Min(options.InitialCapacity, options.MaxMembers);
        _index = new MemberIndex(MemberIndex.CapacityFor(initial), generation: 0);
        _alive = new AliveIndex(initial, perOrg: false);
        _orgs = new OrgDirectory(Math.Min(initial, 1024));
        _tracker = new ReachabilityTracker(_alive, _orgs);
    }

    /// <summary>Members in the table (alive, suspect and dead).</summary>
    public int Count => Volatile.Read(ref _members);

    /// <summary>Alive members.</summary>
    public int AliveCount => Volatile.Read(ref _aliveCount);

    /// <summary>Suspected members.</summary>
    public int SuspectCount => Volatile.Read(ref _suspectCount);

    /// <summary>Dead members (not yet purged).</summary>
    public int DeadCount => Volatile.Read(ref _deadCount);

    /// <summary>Finds the member with this PKI-ID; null when unknown (or purged).</summary>
    public Member? Find(ReadOnlySpan<byte> pkiId)
    {
        if ((uint)(pkiId.Length - 1) >= (uint)_maxPkiIdLength)
        {
            return null;
        }

        return Volatile.Read(ref _index).Find(pkiId, HashOf(pkiId));
    }

    /// <summary>The index's hash of a PKI-ID (seeded per table, never 0).</summary>
    internal ulong HashOf(ReadOnlySpan<byte> pkiId) => PeerKey.Hash(pkiId, _hashSeed);

    /// <summary>Finds the member with this PKI-ID.</summary>
    public bool TryFind(ReadOnlySpan<byte> pkiId, [NotNullWhen(true)] out Member? member)
    {
        member = Find(pkiId);
        return member is not null;
    }

    /// <summary>
    /// Marks a member as never to be purged (bootstrap and anchor peers: purging them could leave this peer isolated),
    /// or clears the mark. Returns the previous value.
    /// </summary>
    public static bool SetNeverPurge(Member member, bool neverPurge)
    {
        ArgumentNullException.ThrowIfNull(member);
        return member.SetNeverPurge(neverPurge);
    }

    internal AliveIndex AliveIndex => _alive;

    /// <summary>Expiry and purge passes that visited the members (the others were skipped: nothing could be due).</summary>
    internal long ScannedPasses => Volatile.Read(ref _scannedPasses);

    internal AliveIndex? OrgAliveIndex(string org) => _orgs.Find(org)?.Alive;

    internal MemberIndex CurrentIndex => Volatile.Read(ref _index);

    /// <summary>
    /// Starts the copy of <paramref name="from"/> into a new generation sized for the live members (growing, or
    /// compacting purged members away), unless one is under way; the thread that wins runs the copy.
    /// </summary>
    internal void Grow(MemberIndex from)
    {
        if (Volatile.Read(ref from.Next) is not null)
        {
            return;
        }

        var next = new MemberIndex(MemberIndex.CapacityFor(Count), from.Generation + 1);
        if (Interlocked.CompareExchange(ref from.Next, next, null) is not null)
        {
            return;
        }

        from.MigrateTo(next, this);

        // Readers start from the newest generation whose predecessors are all copied.
        var current = Volatile.Read(ref _index);
        while (Volatile.Read(ref current.Migrated))
        {
            Interlocked.CompareExchange(ref _index, current.Next!, current);
            current = Volatile.Read(ref _index);
        }
    }

    /// <summary>Accounts one member's state change (done by exactly the thread whose compare-and-swap made it).</summary>
    private void OnStateChanged(Member member, MemberState from, MemberState to)
    {
        if (from == to)
        {
            return;
        }

        Interlocked.Decrement(ref CounterFor(from));
        if (to == MemberState.Purged)
        {
            Interlocked.Decrement(ref _members);
        }
        else
        {
            Interlocked.Increment(ref CounterFor(to));
        }

        if (MemberStateMachine.IsReachable(from) != MemberStateMachine.IsReachable(to))
        {
            _tracker.MarkDirty(member);
        }

        AdjustDigest(member, from, to);

        if (to == MemberState.Dead)
        {
            NoteDead(member);
        }
        else if (MemberStateMachine.IsReachable(to))
        {
            NoteSeen(member.LastSeen);
        }
    }

    private void OnAdded(Member member, MemberState state)
    {
        Interlocked.Increment(ref CounterFor(state));
        AdjustDigest(member, MemberState.Purged, state);
        if (MemberStateMachine.IsReachable(state))
        {
            _tracker.MarkDirty(member);
            NoteSeen(member.LastSeen);
        }
        else if (state == MemberState.Dead)
        {
            NoteDead(member);
        }
    }

    private ref int CounterFor(MemberState state)
    {
        switch (state)
        {
            case MemberState.Alive:
                return ref _aliveCount;
            case MemberState.Suspect:
                return ref _suspectCount;
            default:
                return ref _deadCount;
        }
    }

    private static long ToTicks(TimeSpan span, TimeProvider time) => (long)(span.TotalSeconds * time.TimestampFrequency);
}
