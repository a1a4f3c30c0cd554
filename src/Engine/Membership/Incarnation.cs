namespace Engine.Membership;

/// <summary>
/// One incarnation of a member: the immutable incarnation number and sequence base, and the mutable state word that
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

    public PeerTime TimeOf(ulong word) => new(IncNum, SeqBase + MemberStateMachine.DeltaOf(word));
}
