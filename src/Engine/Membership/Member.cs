using System.Diagnostics;
using Engine.Transport;

namespace Engine.Membership;

/// <summary>
/// One member of the table: a live view whose properties always show the latest accepted news. Reading it takes no
/// lock. The object is the member's identity for as long as it stays in the table; once purged it is never revived
/// (a peer that comes back after a purge gets a new <see cref="Member"/>).
/// </summary>
public sealed class Member
{
    private const int NeverPurgeFlag = 1;
    private const int PurgedFlag = 2;
    private const int DirtyFlag = 4;
    private const int OrgIdShift = 9; // bits 9-31: the organization's number (OrgNames; fixed at construction)

    // The first incarnation, inline: only a restart (a newer inc_num) supersedes it, so most members never allocate
    // another. Its sequence base is 0 (the word holds seq itself); a member first seen with a seq beyond the word's
    // range starts with a later incarnation instead. Its word is written by the table with compare-and-swap; see
    // MembershipTable.Update.cs.
    internal readonly ulong FirstIncNum;
    internal ulong FirstWord;

    // The later incarnation: null until a restart supersedes the first one; then set once before the first word is
    // sealed, and moved forward past each later incarnation sealed in its turn.
    private Incarnation? _later;

    // The key, endpoints and metadata (the key is the same in every record the member holds).
    internal MemberInfo Info;
    internal long LastSeenTimestamp;
    internal int Flags;

    // Owned by ReachabilityTracker: the positions in the sampling indexes (all members, and the member's organization).
    internal int AlivePosition = -1;
    internal int OrgAlivePosition = -1;

    /// <summary>The index generation the member was first inserted into (lets enumeration skip copies).</summary>
    internal int HomeGeneration;

    internal Member(ReadOnlySpan<byte> pkiId, int orgId, in MemberAnnouncement announcement, long timestamp)
    {
        Debug.Assert((uint)orgId <= OrgNames.MaxId, "an organization number OrgNames handed out");
        LastSeenTimestamp = timestamp;
        Flags = orgId << OrgIdShift;

        // Allocated right after the member: the key, read on every lookup, is usually on the same page.
        Info = MemberInfo.For(pkiId, in announcement);
        FirstIncNum = announcement.Time.IncNum;
        if (announcement.Time.SeqNum <= MemberStateMachine.MaxDelta)
        {
            FirstWord = MemberStateMachine.Encode(announcement.Time.SeqNum, announcement.State);
        }
        else
        {
            // Not yet shared: published with the member.
            CompareExchangeLater(new Incarnation(announcement.Time, announcement.State), null);
            FirstWord = MemberStateMachine.Sealed;
        }
    }

    // The index's "frozen cell" marker; never handed out.
    private Member()
    {
        FirstWord = MemberStateMachine.Purged;
        Info = MemberInfo.Empty;
    }

    internal static Member CreateSentinel() => new();

    /// <summary>The member's PKI-ID.</summary>
    public ReadOnlySpan<byte> PkiId => Volatile.Read(ref Info).PkiId;

    /// <summary>The key's hash with seed 0 (<see cref="MemberInfo.KeyHash"/>): the same in every process.</summary>
    internal ulong KeyHash => Volatile.Read(ref Info).KeyHash;

    /// <summary>The organization's number (<see cref="OrgNames"/>), as first announced.</summary>
    /// <remarks>Its bits never change after construction: a plain read sees them whatever the other bits do.</remarks>
    internal int OrgId => (int)((uint)Flags >> OrgIdShift);

    /// <summary>The member's organization (MSP id), as first announced; empty when unknown.</summary>
    public string Org => OrgNames.Shared.NameOf(OrgId);

    /// <summary>The endpoint other peers use to reach the member.</summary>
    public PeerEndpoint Endpoint => Volatile.Read(ref Info).Endpoint;

    /// <summary>The endpoint for peers of the member's own organization (empty when none).</summary>
    public PeerEndpoint InternalEndpoint => Volatile.Read(ref Info).InternalEndpoint;

    /// <summary>The endpoint peers of other organizations may see; empty when the member is not visible outside its organization.</summary>
    public PeerEndpoint ExternalEndpoint => Volatile.Read(ref Info).ExternalEndpoint;

    /// <summary>The metadata of the latest accepted message that changed it.</summary>
    public ReadOnlyMemory<byte> Metadata => Volatile.Read(ref Info).Metadata;

    /// <summary>When the member was last heard from (a <see cref="TimeProvider"/> timestamp, as given to the table).</summary>
    public long LastSeen => Volatile.Read(ref LastSeenTimestamp);

    /// <summary>True for members the table never purges (bootstrap and anchor peers; see <see cref="MembershipTable.SetNeverPurge"/>).</summary>
    public bool NeverPurge => (Volatile.Read(ref Flags) & NeverPurgeFlag) != 0;

    /// <summary>The member's state.</summary>
    public MemberState State => GetState(out _);

    /// <summary>The member's time: the newest accepted.</summary>
    public PeerTime Time
    {
        get
        {
            GetState(out var time);
            return time;
        }
    }

    /// <summary>Reads the state and the time together (one consistent pair).</summary>
    public MemberState GetState(out PeerTime time)
    {
        var incarnation = ReadCurrent(out ulong word);
        time = incarnation.TimeOf(word == MemberStateMachine.Purged ? 0 : word);
        return MemberStateMachine.StateOf(word);
    }

    /// <summary>
    /// True when the member is held at a (time, state) no older than <paramref name="time"/>, <paramref name="state"/>
    /// in the table's order (newer time first, then alive &lt; suspect &lt; dead): news that says so cannot move it.
    /// False for a purged member (news about it re-adds the key).
    /// </summary>
    internal bool HoldsAtLeast(PeerTime time, MemberState state) => HoldsAtLeast(time, state, out _, out _);

    /// <summary>As above, with the state and time it was judged against (one consistent read).</summary>
    internal bool HoldsAtLeast(PeerTime time, MemberState state, out MemberState held, out PeerTime heldTime)
    {
        held = GetState(out heldTime);
        return held != MemberState.Purged && (heldTime > time || (heldTime == time && held >= state));
    }

    /// <summary>"pkiid-prefix@endpoint" for log lines (allocates).</summary>
    public override string ToString() => $"{Convert.ToHexStringLower(PkiId[..Math.Min(PkiId.Length, 8)])}@{Endpoint}";

    internal bool KeyEquals(ReadOnlySpan<byte> pkiId) => Volatile.Read(ref Info).KeyEquals(pkiId);

    internal bool SetNeverPurge(bool value)
    {
        int previous = value ? Interlocked.Or(ref Flags, NeverPurgeFlag) : Interlocked.And(ref Flags, ~NeverPurgeFlag);
        return (previous & NeverPurgeFlag) != 0;
    }

    /// <summary>
    /// The current incarnation and its word (never <see cref="MemberStateMachine.Sealed"/>): a superseded incarnation
    /// met on the way is installed (helping the thread that sealed it) and skipped.
    /// </summary>
    internal IncarnationRef ReadCurrent(out ulong word)
    {
        // The first word decides first: a successor may be committed and the first incarnation then purged instead.
        word = Volatile.Read(ref FirstWord);
        if (word != MemberStateMachine.Sealed)
        {
            return new IncarnationRef(this, null);
        }

        var incarnation = Later!;
        while (true)
        {
            word = Volatile.Read(ref incarnation.Word);
            if (word != MemberStateMachine.Sealed)
            {
                return new IncarnationRef(this, incarnation);
            }

            incarnation = InstallSuccessor(incarnation);
        }
    }

    /// <summary>What is current after a sealed incarnation (moving <see cref="Later"/> past it when it was a later one).</summary>
    internal IncarnationRef SuccessorOf(IncarnationRef sealedIncarnation) =>
        new(this, sealedIncarnation.Later is { } later ? InstallSuccessor(later) : Later!);

    private Incarnation InstallSuccessor(Incarnation sealedIncarnation)
    {
        var next = Volatile.Read(ref sealedIncarnation.Next)!;
        CompareExchangeLater(next, sealedIncarnation);
        return Later!;
    }

    /// <summary>The current later incarnation: null until a restart superseded the first one.</summary>
    internal Incarnation? Later => Volatile.Read(ref _later);

    /// <summary>Compare-and-swap on the later-incarnation slot; returns what the slot held.</summary>
    internal Incarnation? CompareExchangeLater(Incarnation value, Incarnation? comparand) =>
        Interlocked.CompareExchange(ref _later, value, comparand);

    /// <summary>The truth: the state word says purged.</summary>
    internal bool IsPurged
    {
        get
        {
            ReadCurrent(out ulong word);
            return word == MemberStateMachine.Purged;
        }
    }

    /// <summary>
    /// A hint kept in the member itself, so a lookup does not visit the incarnation: set right after the purge (by the
    /// purging thread, or by any thread that finds the word purged first). Until it is set a lookup may still return
    /// the member, as if it had run just before the purge.
    /// </summary>
    internal bool IsMarkedPurged => (Volatile.Read(ref Flags) & PurgedFlag) != 0;

    internal void MarkPurged() => Interlocked.Or(ref Flags, PurgedFlag);

    /// <summary>Sets the reachability tracker's dirty mark; false when it was set already.</summary>
    internal bool TryMarkDirty() => (Interlocked.Or(ref Flags, DirtyFlag) & DirtyFlag) == 0;

    internal void ClearDirty() => Interlocked.And(ref Flags, ~DirtyFlag);

    internal void Touch(long timestamp)
    {
        // Plain max: concurrent winners are microseconds apart, and lastSeen only feeds second-scale timeouts.
        if (timestamp > Volatile.Read(ref LastSeenTimestamp))
        {
            Volatile.Write(ref LastSeenTimestamp, timestamp);
        }
    }
}
