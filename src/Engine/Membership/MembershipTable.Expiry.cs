namespace Engine.Membership;

public sealed partial class MembershipTable
{
    /// <summary>
    /// Declares <paramref name="member"/> dead if it is alive or suspect and silent for longer than the expiry
    /// timeout. The compare-and-swap targets the word read before the last-seen time, so a heartbeat that lands in
    /// between makes it fail: the member is then re-judged at the next pass.
    /// </summary>
    /// <param name="member">The member to judge.</param>
    /// <param name="timestamp">Now.</param>
    /// <param name="dueAfter">When it stays: the time after which it could expire (<see cref="long.MaxValue"/> when it cannot).</param>
    private bool TryExpire(Member member, long timestamp, out long dueAfter)
    {
        dueAfter = long.MaxValue;
        var current = member.ReadCurrent(out ulong word);
        if (!MemberStateMachine.TryDemote(word, MemberState.Dead, out ulong next))
        {
            return false;
        }

        long lastSeen = member.LastSeen;
        if (timestamp - lastSeen <= _aliveTimeoutTicks)
        {
            dueAfter = lastSeen + _aliveTimeoutTicks;
            return false;
        }

        if (Interlocked.CompareExchange(ref current.Word, next, word) != word)
        {
            return false;
        }

        OnStateChanged(member, MemberStateMachine.StateOf(word), MemberState.Dead);
        return true;
    }

    /// <summary>Purges <paramref name="member"/> if it is dead, not marked never-purge, and unheard of for the purge time.</summary>
    private bool TryPurge(Member member, long timestamp, out long dueAfter)
    {
        dueAfter = long.MaxValue;
        var current = member.ReadCurrent(out ulong word);
        if (!MemberStateMachine.CanPurge(word) || member.NeverPurge)
        {
            return false;
        }

        long lastSeen = member.LastSeen;
        if (timestamp - lastSeen <= _purgeAfterTicks)
        {
            dueAfter = lastSeen + _purgeAfterTicks;
            return false;
        }

        if (Interlocked.CompareExchange(ref current.Word, MemberStateMachine.Purged, word) != word)
        {
            return false;
        }

        member.MarkPurged();
        OnStateChanged(member, MemberState.Dead, MemberState.Purged);
        return true;
    }

    /// <summary>
    /// The earliest time a pass could change anything (see <see cref="_expiryDueAfter"/>): lowered, never raised, by
    /// whoever makes a member expirable or purgeable sooner than it says.
    /// </summary>
    private static void LowerDue(ref long dueAfter, long value)
    {
        long seen = Volatile.Read(ref dueAfter);
        while (value < seen)
        {
            long prior = Interlocked.CompareExchange(ref dueAfter, value, seen);
            if (prior == seen)
            {
                return;
            }

            seen = prior;
        }
    }

    /// <summary>A member was heard from at <paramref name="timestamp"/>: it cannot expire before the timeout after it.</summary>
    private void NoteSeen(long timestamp)
    {
        long due = timestamp + _aliveTimeoutTicks;
        if (due < Volatile.Read(ref _expiryDueAfter))
        {
            LowerDue(ref _expiryDueAfter, due);
        }
    }

    /// <summary>A member became dead: it cannot be purged before the purge time after it was last heard from.</summary>
    private void NoteDead(Member member) => LowerDue(ref _purgeDueAfter, member.LastSeen + _purgeAfterTicks);

    /// <summary>After a purge pass: copy the index into a fresh generation when purged members fill most of its cells.</summary>
    private void CompactIfSparse()
    {
        var index = CurrentIndex;
        int claimed = index.Claimed;
        if (claimed > 64 && claimed > 2 * Count)
        {
            Grow(index);
        }
    }
}
