using Engine.Membership;

namespace Engine.Discovery;

/// <summary>One membership change to piggyback: a member (null: this peer) was seen in a state at a time.</summary>
/// <remarks>Urgent news (verdicts, refutations, resurrections, restarts) is also gossiped on its own timer; joins only ride on probes.</remarks>
internal readonly record struct SwimNewsItem(Member? Member, MemberState State, PeerTime Time, bool Urgent = true)
{
    /// <summary>
    /// The member's info record as queued (its key never changes), set by <see cref="SwimNewsQueue.Add"/>: a verdict is
    /// written from it without visiting the member (in a large table, a cache miss per item).
    /// </summary>
    public MemberInfo? Info { get; init; }
}

/// <summary>
/// SWIM's piggyback buffer: the recent membership changes this peer passes on, at most one per member (newer news about a
/// member replaces the older, and goes out next). Each probe or ack takes the next few in round-robin order, so every
/// change gets its share of transmissions; a change is dropped after its retransmission limit (λ·log N). Bounded: when
/// full, the most transmitted change makes room. Not thread-safe (the strategy holds its lock); allocates nothing once
/// the member index has grown to the capacity. Positions are kept by member identity under the key hash each member's
/// info record holds, so nothing here visits a member (in a view of 10,000 members spread over a large heap, each visit is
/// a cache miss, and every transmission moves entries).
/// </summary>
internal sealed class SwimNewsQueue
{
    private const int InitialCapacity = 32;

    private readonly int _capacity;
    private readonly Dictionary<NewsKey, int> _positions;
    private Entry[] _entries;
    private int _selfPosition = -1;
    private int _count;
    private int _cursor;

    /// <param name="capacity">The most changes held; storage starts small and grows to it (a quiet peer holds few).</param>
    public SwimNewsQueue(int capacity)
    {
        _capacity = capacity;
        _entries = new Entry[Math.Min(capacity, InitialCapacity)];
        _positions = new Dictionary<NewsKey, int>(Math.Min(capacity, InitialCapacity), NewsKeyComparer.Instance);
    }

    public int Count => _count;

    /// <summary>Queued changes marked urgent.</summary>
    public int UrgentCount { get; private set; }

    /// <summary>Queues a change, replacing older news about the same member; it is the next to go out.</summary>
    public void Add(SwimNewsItem item, int size)
    {
        item = item with { Info = item.Member?.Info };
        int position = item.Member is null ? _selfPosition : _positions.GetValueOrDefault(KeyOf(item), -1);
        if (position < 0)
        {
            if (_count == _entries.Length && _entries.Length < _capacity)
            {
                Array.Resize(ref _entries, Math.Min(_capacity, _entries.Length * 2));
            }
            else if (_count == _entries.Length)
            {
                RemoveAt(MostTransmitted());
            }

            position = _count++;
            SetPosition(item, position);
        }
        else if (_entries[position].Item.Urgent)
        {
            UrgentCount--;
        }

        _entries[position] = new Entry(item, size, 0);
        if (item.Urgent)
        {
            UrgentCount++;
        }

        // Move it to the cursor, so it goes out in the next message.
        if (_cursor < _count && position != _cursor)
        {
            Swap(position, _cursor);
        }
    }

    /// <summary>
    /// Takes up to <paramref name="into"/>.Length changes whose sizes fit <paramref name="budget"/> bytes, counting one
    /// transmission each; a change reaching <paramref name="maxTransmits"/> leaves the queue. Returns how many.
    /// </summary>
    public int Take(Span<SwimNewsItem> into, int budget, int maxTransmits)
    {
        int taken = 0, visited = 0, total = _count;
        while (taken < into.Length && visited < total && _count > 0)
        {
            if (_cursor >= _count)
            {
                _cursor = 0;
            }

            visited++;
            ref var entry = ref _entries[_cursor];
            if (entry.Size > budget)
            {
                _cursor++;
                continue;
            }

            budget -= entry.Size;
            into[taken++] = entry.Item;
            if (++entry.Transmits >= maxTransmits)
            {
                RemoveAt(_cursor); // the last entry moves here and is visited next
            }
            else
            {
                _cursor++;
            }
        }

        return taken;
    }

    /// <summary>The queued change about <paramref name="member"/> (null: this peer), if any.</summary>
    public bool TryGet(Member? member, out SwimNewsItem item)
    {
        int position = member is null ? _selfPosition : _positions.GetValueOrDefault(new NewsKey(member, member.Info), -1);
        item = position >= 0 ? _entries[position].Item : default;
        return position >= 0;
    }

    private static NewsKey KeyOf(in SwimNewsItem item) => new(item.Member!, item.Info!);

    private int MostTransmitted()
    {
        int best = 0;
        for (int i = 1; i < _count; i++)
        {
            if (_entries[i].Transmits > _entries[best].Transmits)
            {
                best = i;
            }
        }

        return best;
    }

    private void RemoveAt(int position)
    {
        if (_entries[position].Item.Urgent)
        {
            UrgentCount--;
        }

        var removed = _entries[position].Item;
        if (removed.Member is null)
        {
            _selfPosition = -1;
        }
        else
        {
            _positions.Remove(KeyOf(removed));
        }

        int last = --_count;
        if (position != last)
        {
            _entries[position] = _entries[last];
            SetPosition(_entries[position].Item, position);
        }

        _entries[last] = default;
    }

    private void Swap(int a, int b)
    {
        (_entries[a], _entries[b]) = (_entries[b], _entries[a]);
        SetPosition(_entries[a].Item, a);
        SetPosition(_entries[b].Item, b);
    }

    private void SetPosition(in SwimNewsItem item, int position)
    {
        if (item.Member is null)
        {
            _selfPosition = position;
        }
        else
        {
            _positions[KeyOf(item)] = position;
        }
    }

    private record struct Entry(SwimNewsItem Item, int Size, int Transmits);

    /// <summary>A member by identity, with its info record (whose key hash it is filed under; records of one member share the key).</summary>
    private readonly record struct NewsKey(Member Member, MemberInfo Info);

    private sealed class NewsKeyComparer : IEqualityComparer<NewsKey>
    {
        public static readonly NewsKeyComparer Instance = new();

        public bool Equals(NewsKey x, NewsKey y) => ReferenceEquals(x.Member, y.Member);

        public int GetHashCode(NewsKey key) => (int)key.Info.KeyHash ^ (int)(key.Info.KeyHash >> 32);
    }
}
