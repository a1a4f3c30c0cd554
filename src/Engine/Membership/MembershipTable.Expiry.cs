namespace Engine.Membership;

public sealed partial class MembershipTable
{
    /// <summary>
    /// Declares <paramref name="member"/> dead if it is alive or suspect and silent for longer than the expiry
    /// timeout. The compare-and-swap targets the word read before the last-seen time, so a heartbeat that lands in
    /// between makes it fail: the member is then re-judged at the next pass.
    /// </summary>
    private bool TryExpire(Member member, long timestamp)
    {
        var current = member.ReadCurrent(out ulong word);
        if (!MemberStateMachine.TryDemote(word, MemberState.Dead, out ulong next)
            || timestamp - member.LastSeen <= _aliveTimeoutTicks)
        {
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
    private bool TryPurge(Member member, long timestamp)
    {
        var current = member.ReadCurrent(out ulong word);
        if (!MemberStateMachine.CanPurge(word) || member.NeverPurge || timestamp - member.LastSeen <= _purgeAfterTicks)
        {
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
