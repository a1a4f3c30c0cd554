namespace Engine.Membership;

/// <summary>
/// Keeps the sampling indexes (all reachable members, and each organization's) in step with the members' state words,
/// which are the truth. A thread that changes whether a member is reachable marks it dirty — a lock-free stack
/// threaded through the members — and then tries to become the combiner with a compare-and-swap on a flag. The
/// combiner drains the stack and appends or swap-removes members, so each index has one writer at a time and nobody
/// waits: a thread that does not win the flag leaves its mark to the current combiner, which looks at the stack again
/// after releasing the flag. The indexes trail the state words by at most one combine.
/// </summary>
internal sealed class ReachabilityTracker(AliveIndex all, OrgDirectory orgs)
{
    private Member? _dirtyHead;
    private int _combining;
    private int _indexOrgs;

    /// <summary>A second organization appeared: the first gets its own sampling index (built by the combiner).</summary>
    public void IndexOrganizations()
    {
        Volatile.Write(ref _indexOrgs, 1);
        Combine();
    }

    /// <summary>Records that <paramref name="member"/>'s reachability may have changed, and reconciles.</summary>
    public void MarkDirty(Member member)
    {
        if (!member.TryMarkDirty())
        {
            return; // already pending: the thread that marked it combines, or left it to the combiner
        }

        var head = Volatile.Read(ref _dirtyHead);
        while (true)
        {
            member.DirtyNext = head;
            var seen = Interlocked.CompareExchange(ref _dirtyHead, member, head);
            if (ReferenceEquals(seen, head))
            {
                break;
            }

            head = seen;
        }

        Combine();
    }

    private void Combine()
    {
        do
        {
            if (Interlocked.CompareExchange(ref _combining, 1, 0) != 0)
            {
                return; // the combiner will see our mark when it looks at the stack again
            }

            try
            {
                if (Interlocked.Exchange(ref _indexOrgs, 0) != 0)
                {
                    foreach (var scope in orgs.All)
                    {
                        scope.BuildIndex(all);
                    }
                }

                Member? pending;
                while ((pending = Interlocked.Exchange(ref _dirtyHead, null)) is not null)
                {
                    while (pending is not null)
                    {
                        var member = pending;
                        pending = member.DirtyNext;
                        member.DirtyNext = null;

                        // Clear the mark before reading the state (a full fence), so a change after the read re-marks it.
                        member.ClearDirty();
                        Reconcile(member);
                    }
                }
            }
            finally
            {
                Interlocked.Exchange(ref _combining, 0);
            }
        }
        while (Volatile.Read(ref _dirtyHead) is not null || Volatile.Read(ref _indexOrgs) != 0);
    }

    private void Reconcile(Member member)
    {
        bool reachable = MemberStateMachine.IsReachable(member.State);
        bool indexed = member.AlivePosition >= 0;
        if (reachable && !indexed)
        {
            all.Add(member);
            member.OrgScope.Alive?.Add(member);
        }
        else if (!reachable && indexed)
        {
            all.Remove(member);
            if (member.OrgAlivePosition >= 0)
            {
                member.OrgScope.Alive!.Remove(member); // in an index built after it was added
            }
        }
    }
}
