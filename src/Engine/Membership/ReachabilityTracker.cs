using System.Collections.Concurrent;

namespace Engine.Membership;

/// <summary>
/// Keeps the sampling indexes (all reachable members, and each organization's) in step with the members' state words,
/// which are the truth. A thread that changes whether a member is reachable marks it dirty (a flag in the member, so it
/// is queued once however often it changes) and queues it — a lock-free queue that keeps its buffer between changes,
/// so it allocates only when more members are pending at once than ever before; a link in every member cost 8 bytes
/// each — and then tries to become the combiner with a compare-and-swap on a flag. The combiner drains the queue and
/// appends or swap-removes members, so each index has one writer at a time and nobody waits: a thread that does not
/// win the flag leaves its mark to the current combiner, which looks at the queue again after releasing the flag. The
/// indexes trail the state words by at most one combine.
/// </summary>
internal sealed class ReachabilityTracker(AliveIndex all, OrgDirectory orgs)
{
    private readonly ConcurrentQueue<Member> _dirty = new();
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

        _dirty.Enqueue(member);
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

                while (_dirty.TryDequeue(out var member))
                {
                    // Clear the mark before reading the state (a full fence), so a change after the read re-marks it.
                    member.ClearDirty();
                    Reconcile(member);
                }
            }
            finally
            {
                Interlocked.Exchange(ref _combining, 0);
            }
        }
        while (!_dirty.IsEmpty || Volatile.Read(ref _indexOrgs) != 0);
    }

    private void Reconcile(Member member)
    {
        bool reachable = MemberStateMachine.IsReachable(member.State);
        bool indexed = member.AlivePosition >= 0;
        if (reachable && !indexed)
        {
            all.Add(member);
            orgs.ScopeOf(member.OrgId).Alive?.Add(member);
        }
        else if (!reachable && indexed)
        {
            all.Remove(member);
            if (member.OrgAlivePosition >= 0)
            {
                orgs.ScopeOf(member.OrgId).Alive!.Remove(member); // in an index built after it was added
            }
        }
    }
}
