namespace Engine.Membership;

/// <summary>
/// The dense array of reachable (alive or suspect) members that sampling picks from, so a sample of k costs O(k)
/// whatever the number of dead members.
/// <para>
/// The members' state words are the truth; this array follows them. A thread that changes whether a member is
/// reachable marks it dirty (a lock-free stack threaded through the members) and then tries to become the combiner
/// (a compare-and-swap on a flag): the combiner drains the stack and appends or swap-removes members, so the array has
/// one writer at a time without anyone waiting — a thread that does not win the flag leaves its mark for the current
/// combiner, which re-checks the stack after releasing the flag. Samplers read the array without synchronization
/// and tolerate a move in progress (a member can appear at two positions for an instant; samples skip duplicates).
/// </para>
/// </summary>
internal sealed class AliveIndex
{
    private const int SmallScan = 32;

    private Member?[] _members;
    private int _count;
    private Member? _dirtyHead;
    private int _combining;

    public AliveIndex(int capacity)
    {
        _members = new Member?[Math.Max(16, capacity)];
    }

    /// <summary>Members in the array (may trail the state words by one combine).</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Records that <paramref name="member"/>'s reachability may have changed, and reconciles.</summary>
    public void MarkDirty(Member member)
    {
        if (Interlocked.CompareExchange(ref member.Dirty, 1, 0) != 0)
        {
            return; // already pending: whoever marked it is combining or has left it to the combiner
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
                return; // the combiner will see our mark when it re-checks the stack
            }

            try
            {
                Member? pending;
                while ((pending = Interlocked.Exchange(ref _dirtyHead, null)) is not null)
                {
                    while (pending is not null)
                    {
                        var member = pending;
                        pending = member.DirtyNext;
                        member.DirtyNext = null;

                        // Clear the mark before reading the state (full fence), so a change after the read re-marks it.
                        Interlocked.Exchange(ref member.Dirty, 0);
                        Reconcile(member);
                    }
                }
            }
            finally
            {
                Interlocked.Exchange(ref _combining, 0);
            }
        }
        while (Volatile.Read(ref _dirtyHead) is not null);
    }

    private void Reconcile(Member member)
    {
        bool reachable = MemberStateMachine.IsReachable(member.State);
        int position = member.AlivePosition;
        if (reachable && position < 0)
        {
            var members = _members;
            int count = _count;
            if (count == members.Length)
            {
                var larger = new Member?[members.Length * 2];
                Array.Copy(members, larger, count);
                Volatile.Write(ref _members, larger);
                members = larger;
            }

            members[count] = member;
            member.AlivePosition = count;
            Volatile.Write(ref _count, count + 1);
        }
        else if (!reachable && position >= 0)
        {
            var members = _members;
            int last = _count - 1;
            var moved = members[last]!;
            members[position] = moved;
            moved.AlivePosition = position;
            member.AlivePosition = -1;
            Volatile.Write(ref _count, last);
            members[last] = null;
        }
    }

    /// <summary>
    /// Writes up to <c>destination.Length</c> distinct reachable members matching <paramref name="filter"/>, chosen
    /// uniformly at random; returns how many. Random picks with rejection (at most 4k + 8 of them), then — when the
    /// filter matched too few — one reservoir pass over the array from a random start, so it always terminates.
    /// </summary>
    public int Sample<TFilter>(Span<Member> destination, ref TFilter filter, ref SampleRandom random)
        where TFilter : struct, IPeerFilter
    {
        int k = destination.Length;
        int count = Volatile.Read(ref _count);
        var members = Volatile.Read(ref _members);
        count = Math.Min(count, members.Length);
        if (k == 0 || count == 0)
        {
            return 0;
        }

        if (count > SmallScan && count > 2 * k)
        {
            int found = 0;
            for (int attempts = 4 * k + 8; attempts > 0; attempts--)
            {
                int position = random.NextInt(count);
                var member = members[position];
                if (member is null || member.AlivePosition != position || Contains(destination[..found], member) || !filter.Matches(member))
                {
                    continue;
                }

                destination[found++] = member;
                if (found == k)
                {
                    return k;
                }
            }
        }

        return ReservoirScan(destination, members, count, ref filter, ref random);
    }

    private static int ReservoirScan<TFilter>(Span<Member> destination, Member?[] members, int count, ref TFilter filter, ref SampleRandom random)
        where TFilter : struct, IPeerFilter
    {
        int k = destination.Length;
        int start = random.NextInt(count);
        int seen = 0;
        for (int n = 0; n < count; n++)
        {
            int position = start + n;
            if (position >= count)
            {
                position -= count;
            }

            var member = members[position];
            if (member is null || member.AlivePosition != position || !filter.Matches(member))
            {
                continue;
            }

            int filled = Math.Min(seen, k);
            if (Contains(destination[..filled], member))
            {
                continue;
            }

            if (seen < k)
            {
                destination[seen] = member;
            }
            else
            {
                int slot = random.NextInt(seen + 1);
                if (slot < k)
                {
                    destination[slot] = member;
                }
            }

            seen++;
        }

        return Math.Min(seen, k);
    }

    private static bool Contains(ReadOnlySpan<Member> chosen, Member member)
    {
        foreach (var m in chosen)
        {
            if (ReferenceEquals(m, member))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Copies the array (tests check it against the members' states).</summary>
    internal Member[] Snapshot()
    {
        int count = Volatile.Read(ref _count);
        var members = Volatile.Read(ref _members);
        var copy = new Member[count];
        Array.Copy(members, copy, count);
        return copy;
    }
}
