namespace Engine.Membership;

/// <summary>
/// A dense array of reachable (alive or suspect) members that sampling picks from, so a sample of k costs O(k)
/// whatever the number of dead members. Written only by the <see cref="ReachabilityTracker"/>'s combiner (append,
/// swap-remove); read by samplers without synchronization, which tolerate a move in progress (a member may appear at
/// two positions for an instant, or just after it died: samples skip duplicates).
/// </summary>
internal sealed class AliveIndex
{
    private const int SmallScan = 32;

    private readonly bool _perOrg;
    private Member?[] _members;
    private int _count;

    public AliveIndex(int capacity, bool perOrg)
    {
        _perOrg = perOrg;
        _members = new Member?[Math.Max(16, capacity)];
    }

    /// <summary>Members in the array (may trail the state words by one combine).</summary>
    public int Count => Volatile.Read(ref _count);

    public void Add(Member member)
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
        PositionOf(member) = count;
        Volatile.Write(ref _count, count + 1);
    }

    public void Remove(Member member)
    {
        ref int position = ref PositionOf(member);
        var members = _members;
        int last = _count - 1;
        var moved = members[last]!;
        members[position] = moved;
        PositionOf(moved) = position;
        position = -1;
        Volatile.Write(ref _count, last);
        members[last] = null;
    }

    private ref int PositionOf(Member member) => ref _perOrg ? ref member.OrgAlivePosition : ref member.AlivePosition;

    /// <summary>
    /// Writes up to <c>destination.Length</c> distinct members matching <paramref name="filter"/>, chosen uniformly at
    /// random; returns how many. Random picks with rejection — at most 4k + 8 + n/16 of them, so only a filter
    /// matching a tiny share of the members runs out — then one reservoir pass over the array, so it always ends.
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
            for (int attempts = (4 * k) + 8 + (count >> 4); attempts > 0; attempts--)
            {
                var member = members[random.NextInt(count)];
                if (member is null || Contains(destination[..found], member) || !filter.Matches(member))
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
        int seen = 0;
        for (int position = 0; position < count; position++)
        {
            var member = members[position];
            if (member is null || Contains(destination[..Math.Min(seen, k)], member) || !filter.Matches(member))
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

    /// <summary>The member at <paramref name="position"/> (null past the end or during a move); lock-free, O(1).</summary>
    public Member? At(int position)
    {
        var members = Volatile.Read(ref _members);
        return (uint)position < (uint)Math.Min(Volatile.Read(ref _count), members.Length) ? members[position] : null;
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
