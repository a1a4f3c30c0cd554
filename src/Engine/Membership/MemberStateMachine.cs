namespace Engine.Membership;

/// <summary>
/// The member state machine, in one place. A member's state at any instant is the pair (incarnation, word) where the
/// word packs <c>(seq - SeqBase) &lt;&lt; 2 | state</c>. Read as an unsigned number, the word orders exactly like
/// (seq, state) with Alive &lt; Suspect &lt; Dead, so every legal transition makes the word strictly larger:
/// <list type="bullet">
/// <item>news with a newer seq (any state) raises the delta;</item>
/// <item>a local verdict (suspect, dead) raises the state at the same seq;</item>
/// <item>purge writes <see cref="Purged"/>, and superseding writes <see cref="Sealed"/>: both above every valid word.</item>
/// </list>
/// An update is one compare-and-swap from the word it read to a larger word, so it lands only if nothing changed in
/// between; whatever the interleaving, the word is the maximum of what was offered, and stale news never wins.
/// </summary>
internal static class MemberStateMachine
{
    private const int StateBits = 2;
    private const ulong StateMask = (1UL << StateBits) - 1;

    /// <summary>The largest seq delta a word holds; news beyond it starts a new incarnation record.</summary>
    public const ulong MaxDelta = (1UL << (64 - StateBits)) - 2;

    /// <summary>Terminal: the member was purged. No word is larger except <see cref="Sealed"/>.</summary>
    public const ulong Purged = ((1UL << (64 - StateBits)) - 1) << StateBits;

    /// <summary>Terminal for the incarnation: it was superseded by <see cref="Incarnation.Next"/>.</summary>
    public const ulong Sealed = Purged | 1;

    public enum Verdict
    {
        /// <summary>The news is not newer: ignore it.</summary>
        Stale,

        /// <summary>Compare-and-swap the word to the computed next word.</summary>
        Advance,

        /// <summary>The news dominates the whole incarnation: replace it.</summary>
        Supersede,
    }

    public static ulong Encode(ulong delta, MemberState state) => (delta << StateBits) | (ulong)state;

    public static ulong DeltaOf(ulong word) => word >> StateBits;

    /// <summary>The state a valid or purged word stands for (not meaningful for <see cref="Sealed"/>).</summary>
    public static MemberState StateOf(ulong word) => word == Purged ? MemberState.Purged : (MemberState)(word & StateMask);

    public static bool IsReachable(MemberState state) => state <= MemberState.Suspect;

    /// <summary>True for states news may carry (Purged is local only).</summary>
    public static bool IsAnnounceable(MemberState state) => (uint)state <= (uint)MemberState.Dead;

    /// <summary>Judges news <paramref name="time"/>/<paramref name="state"/> against incarnation <paramref name="current"/> holding <paramref name="word"/> (a valid word).</summary>
    public static Verdict Judge(in IncarnationRef current, ulong word, PeerTime time, MemberState state, out ulong next)
    {
        next = 0;
        if (time.IncNum != current.IncNum)
        {
            return time.IncNum > current.IncNum ? Verdict.Supersede : Verdict.Stale;
        }

        if (time.SeqNum < current.SeqBase)
        {
            return Verdict.Stale;
        }

        ulong delta = time.SeqNum - current.SeqBase;
        if (delta > MaxDelta)
        {
            return Verdict.Supersede;
        }

        next = Encode(delta, state);
        return next > word ? Verdict.Advance : Verdict.Stale;
    }

    /// <summary>A local verdict (suspect or dead) at the member's current time: applies only if it raises the state.</summary>
    public static bool TryDemote(ulong word, MemberState target, out ulong next)
    {
        next = (word & ~StateMask) | (ulong)target;
        return word < Purged && (ulong)target > (word & StateMask);
    }

    /// <summary>Purge applies only to a dead member.</summary>
    public static bool CanPurge(ulong word) => word < Purged && (word & StateMask) == (ulong)MemberState.Dead;

    /// <summary>Names the change from <paramref name="from"/> to <paramref name="to"/> for the caller's log line.</summary>
    public static MembershipChange Classify(MemberState from, MemberState to, bool newIncarnation)
    {
        if (IsReachable(to) && !IsReachable(from))
        {
            return MembershipChange.Resurrected;
        }

        if (to == MemberState.Alive)
        {
            return from == MemberState.Suspect ? MembershipChange.Resurrected
                : newIncarnation ? MembershipChange.Restarted
                : MembershipChange.Refreshed;
        }

        if (to == from)
        {
            return MembershipChange.Refreshed;
        }

        return to == MemberState.Suspect ? MembershipChange.Suspected : MembershipChange.Died;
    }
}
