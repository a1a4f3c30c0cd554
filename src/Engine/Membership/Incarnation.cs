namespace Engine.Membership;

/// <summary>
/// A later incarnation of a member (the first is kept inline in the <see cref="Member"/>): the immutable incarnation number and sequence base, and the mutable state word that
/// every heartbeat, verdict and purge advances with a single compare-and-swap (see <see cref="MemberStateMachine"/>).
/// A member gets a new <see cref="Incarnation"/> only for news that dominates every time this one can hold (a newer
/// inc_num, or a sequence number beyond its range), so nothing written into a superseded incarnation can matter.
/// </summary>
internal sealed class Incarnation
{
    public readonly ulong IncNum;
    public readonly ulong SeqBase;

    /// <summary>The state this incarnation started in (accounted by whoever seals its predecessor).</summary>
    public readonly MemberState InitialState;

    /// <summary>(seq - SeqBase) &lt;&lt; 2 | state, or one of the special words; only ever increases.</summary>
    public ulong Word;

    /// <summary>The successor committed by a superseding update, set (once) before <see cref="Word"/> is sealed.</summary>
    public Incarnation? Next;

    public Incarnation(PeerTime time, MemberState state)
    {
        IncNum = time.IncNum;
        SeqBase = time.SeqNum;
        InitialState = state;
        Word = MemberStateMachine.Encode(0, state);
    }
}

/// <summary>
/// The current incarnation of a member as read at one moment: the first, inline in the member (<see cref="Later"/>
/// null), or a later one.
/// </summary>
internal readonly struct IncarnationRef(Member member, Incarnation? later)
{
    /// <summary>The later incarnation, or null for the member's first.</summary>
    public Incarnation? Later => later;

    public ulong IncNum => later is null ? member.FirstIncNum : later.IncNum;

    public ulong SeqBase => later is null ? 0 : later.SeqBase;

    /// <summary>The state word: compare-and-swap on it advances or seals this incarnation.</summary>
    public ref ulong Word => ref later is null ? ref member.FirstWord : ref later.Word;

    public PeerTime TimeOf(ulong word) => new(IncNum, SeqBase + MemberStateMachine.DeltaOf(word));

    /// <summary>
    /// Commits <paramref name="successor"/> as this incarnation's successor unless one is committed already; returns
    /// the one committed. For the first incarnation the successor's place is the member's <see cref="Member.Later"/>.
    /// </summary>
    public Incarnation CommitSuccessor(Incarnation successor) =>
        (later is null
            ? member.CompareExchangeLater(successor, null)
            : Interlocked.CompareExchange(ref later.Next, successor, null)) ?? successor;
}
