using System.Buffers;
using Engine.Diagnostics;

namespace Engine.Gossip;

/// <summary>What <see cref="MessageStore.Add"/> did.</summary>
internal enum StoreResult
{
    /// <summary>A message not seen before: stored.</summary>
    Added,

    /// <summary>A newer version of a per-peer message: it replaced the older one.</summary>
    Replaced,

    /// <summary>The same message (same identity and version) is already held.</summary>
    Duplicate,

    /// <summary>A newer version of this per-peer message is already held.</summary>
    Stale,

    /// <summary>The message alone exceeds what one stripe of the store may hold; not stored.</summary>
    TooLarge,

    /// <summary>The identity is malformed (see <see cref="MessageId.IsValid"/>); not stored.</summary>
    Invalid,
}

/// <summary>What <see cref="MessageStore.Check"/> found.</summary>
internal enum SeenResult
{
    /// <summary>Not held, or only an older version is held.</summary>
    New,

    /// <summary>This exact message is held.</summary>
    Duplicate,

    /// <summary>A newer version is held.</summary>
    Stale,
}

/// <summary>
/// The message store: de-duplicates and replaces messages by identity (<see cref="MessageId"/>), expires them after a
/// time to live, and holds at most <see cref="MessageStoreOptions.MaxEntries"/> messages and
/// <see cref="MessageStoreOptions.MaxBytes"/> bytes, evicting the oldest first. Lock-striped: a message's identity
/// hash picks one of a power-of-two number of stripes, each with its own short lock, so receive threads rarely meet.
/// <see cref="Check"/> and <see cref="Add"/> of a known message allocate nothing; a stored envelope lives in a pooled
/// buffer returned on eviction.
/// </summary>
internal sealed partial class MessageStore
{
    /// <summary>Bytes charged per entry on top of its digest and envelope (slot, index entry, pool slack).</summary>
    public const int EntryOverhead = 96;

    private readonly Shard[] _shards;
    private readonly int _shardMask;
    private readonly ulong _seed;
    private readonly TimeProvider _time;
    private readonly long _ttlTicks;
    private readonly int _maxEntries;
    private readonly long _maxBytes;

    private long _added;
    private long _replaced;
    private long _duplicates;
    private long _stale;
    private long _rejected;
    private long _expired;
    private long _evictedForEntries;
    private long _evictedForBytes;

    public MessageStore(MessageStoreOptions options, TimeProvider time, Random random)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        _time = time;
        _seed = (ulong)random.NextInt64();
        _ttlTicks = (long)(options.TimeToLive.TotalSeconds * time.TimestampFrequency);
        int shards = options.ResolveShards();
        _shardMask = shards - 1;
        _maxEntries = options.MaxEntries / shards * shards;
        _maxBytes = options.MaxBytes / shards * shards;
        _shards = new Shard[shards];
        for (int i = 0; i < shards; i++)
        {
            _shards[i] = new Shard(options.MaxEntries / shards, options.MaxBytes / shards);
        }
    }

    /// <summary>The entry bound actually enforced (<see cref="MessageStoreOptions.MaxEntries"/> rounded down to a multiple of the stripes).</summary>
    public int MaxEntries => _maxEntries;

    /// <summary>The longest envelope the store accepts for a message whose digest is <paramref name="digestLength"/> bytes long (what one stripe may hold).</summary>
    public long MaxEnvelopeLength(int digestLength) => _shards[0].MaxBytes - EntryOverhead - digestLength;

    /// <summary>The byte bound actually enforced.</summary>
    public long MaxBytes => _maxBytes;

    /// <summary>Messages held (including expired ones not yet swept).</summary>
    public int Count
    {
        get
        {
            int count = 0;
            foreach (var shard in _shards)
            {
                count += Volatile.Read(ref shard.Count);
            }

            return count;
        }
    }

    /// <summary>Bytes charged for what is held.</summary>
    public long Bytes
    {
        get
        {
            long bytes = 0;
            foreach (var shard in _shards)
            {
                bytes += Volatile.Read(ref shard.Bytes);
            }

            return bytes;
        }
    }

    public MessageStoreStatistics GetStatistics() => new(
        Count, Bytes, Volatile.Read(ref _added), Volatile.Read(ref _replaced), Volatile.Read(ref _duplicates), Volatile.Read(ref _stale),
        Volatile.Read(ref _rejected), Volatile.Read(ref _expired), Volatile.Read(ref _evictedForEntries), Volatile.Read(ref _evictedForBytes));

    /// <summary>Has this message (or a newer version of it) been seen? Allocation-free.</summary>
    public SeenResult Check(in MessageId id)
    {
        if (!id.IsValid)
        {
            return SeenResult.Duplicate; // never forward what cannot be identified
        }

        ulong hash = id.IdentityHash(_seed);
        var shard = ShardOf(hash);
        long now = _time.GetTimestamp();
        lock (shard.Gate)
        {
            ExpireLocked(shard, now);
            int slot = FindLocked(shard, hash, in id);
            return slot < 0 ? SeenResult.New : Compare(in id, shard.DigestOf(slot));
        }
    }

    /// <summary>True when this exact version, or a newer one, is held.</summary>
    public bool Holds(in MessageId id) => Check(in id) != SeenResult.New;

    /// <summary>
    /// Stores <paramref name="envelope"/> under <paramref name="id"/> unless it is a duplicate or stale; makes room by
    /// evicting the oldest messages of the stripe. The bytes are copied.
    /// </summary>
    public StoreResult Add(in MessageId id, ReadOnlySpan<byte> envelope)
    {
        if (!id.IsValid || envelope.IsEmpty)
        {
            Interlocked.Increment(ref _rejected);
            return StoreResult.Invalid;
        }

        ulong hash = id.IdentityHash(_seed);
        var shard = ShardOf(hash);
        int digestLength = id.DigestLength;
        long charge = EntryOverhead + digestLength + envelope.Length;
        if (charge > shard.MaxBytes)
        {
            Interlocked.Increment(ref _rejected);
            return StoreResult.TooLarge;
        }

        long now = _time.GetTimestamp();
        lock (shard.Gate)
        {
            ExpireLocked(shard, now);
            int slot = FindLocked(shard, hash, in id);
            StoreResult result;
            if (slot >= 0)
            {
                var seen = Compare(in id, shard.DigestOf(slot));
                if (seen != SeenResult.New)
                {
                    Interlocked.Increment(ref seen == SeenResult.Duplicate ? ref _duplicates : ref _stale);
                    return seen == SeenResult.Duplicate ? StoreResult.Duplicate : StoreResult.Stale;
                }

                RemoveLocked(shard, slot);
                result = StoreResult.Replaced;
            }
            else
            {
                result = StoreResult.Added;
            }

            while (shard.Count >= shard.MaxEntries)
            {
                RemoveLocked(shard, shard.Head);
                Interlocked.Increment(ref _evictedForEntries);
            }

            while (shard.Bytes + charge > shard.MaxBytes)
            {
                RemoveLocked(shard, shard.Head);
                Interlocked.Increment(ref _evictedForBytes);
            }

            InsertLocked(shard, hash, in id, envelope, now + _ttlTicks, charge);
            Interlocked.Increment(ref result == StoreResult.Added ? ref _added : ref _replaced);
            return result;
        }
    }

    /// <summary>
    /// Copies the envelope held for exactly this message (same version) into <paramref name="destination"/>; false when
    /// it is not held (expired, evicted, replaced by a newer version).
    /// </summary>
    public bool TryCopy(in MessageId id, IBufferWriter<byte> destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (!id.IsValid)
        {
            return false;
        }

        ulong hash = id.IdentityHash(_seed);
        var shard = ShardOf(hash);
        long now = _time.GetTimestamp();
        lock (shard.Gate)
        {
            ExpireLocked(shard, now);
            int slot = FindLocked(shard, hash, in id);
            if (slot < 0 || Compare(in id, shard.DigestOf(slot)) != SeenResult.Duplicate)
            {
                return false;
            }

            var envelope = shard.EnvelopeOf(slot);
            envelope.CopyTo(destination.GetSpan(envelope.Length));
            destination.Advance(envelope.Length);
            return true;
        }
    }

    /// <summary>
    /// Adds to <paramref name="into"/> the digests of the held messages of <paramref name="kind"/> that
    /// <paramref name="filter"/> accepts, oldest first, stopping at <paramref name="max"/> digests in the set; returns how many it added.
    /// </summary>
    public int CollectDigests<TFilter>(MessageKind kind, DigestSet into, int max, TFilter filter)
        where TFilter : IDigestFilter, allows ref struct
    {
        ArgumentNullException.ThrowIfNull(into);
        long now = _time.GetTimestamp();
        int added = 0;
        foreach (var shard in _shards)
        {
            lock (shard.Gate)
            {
                ExpireLocked(shard, now);
                for (int slot = shard.Head; slot >= 0 && into.Count < max; slot = shard.Slots[slot].Next)
                {
                    var digest = shard.DigestOf(slot);
                    if ((MessageKind)digest[0] != kind || !MessageId.TryParseDigest(digest, out var id) || !filter.Include(in id))
                    {
                        continue;
                    }

                    into.AddOrGet(digest, out bool isNew);
                    added += isNew ? 1 : 0;
                }
            }
        }

        return added;
    }

    /// <summary>Removes every expired message now (each operation also expires its own stripe as it goes).</summary>
    public int Sweep()
    {
        long now = _time.GetTimestamp();
        long before = Volatile.Read(ref _expired);
        foreach (var shard in _shards)
        {
            lock (shard.Gate)
            {
                ExpireLocked(shard, now);
            }
        }

        return (int)(Volatile.Read(ref _expired) - before);
    }

    private Shard ShardOf(ulong hash) => _shards[(int)(hash >> 40) & _shardMask];

    /// <summary>New when the stored digest is an older version; Duplicate when the same; Stale when newer.</summary>
    private static SeenResult Compare(in MessageId id, ReadOnlySpan<byte> storedDigest)
    {
        if (!id.IsVersioned)
        {
            return SeenResult.Duplicate;
        }

        if (!MessageId.TryParseDigest(storedDigest, out var stored))
        {
            return SeenResult.New; // unreachable: the store wrote the digest itself
        }

        int c = id.Time.CompareTo(stored.Time);
        return c > 0 ? SeenResult.New : c == 0 ? SeenResult.Duplicate : SeenResult.Stale;
    }

    private static int FindLocked(Shard shard, ulong hash, in MessageId id)
    {
        if (!shard.Map.TryGetValue(hash, out int slot))
        {
            return -1;
        }

        // A 64-bit seeded hash collision between different identities is treated as "not held": the newcomer then
        // replaces the old entry (see InsertLocked), which costs at most one re-delivery, never a lost message.
        return MessageId.TryParseDigest(shard.DigestOf(slot), out var stored) && stored.SameIdentity(in id) ? slot : ~slot;
    }

    private void ExpireLocked(Shard shard, long now)
    {
        while (shard.Head >= 0 && shard.Slots[shard.Head].Expires <= now)
        {
            RemoveLocked(shard, shard.Head);
            Interlocked.Increment(ref _expired);
        }
    }

    private static void InsertLocked(Shard shard, ulong hash, in MessageId id, ReadOnlySpan<byte> envelope, long expires, long charge)
    {
        if (shard.Map.TryGetValue(hash, out int colliding))
        {
            RemoveLocked(shard, colliding);
        }

        int digestLength = id.DigestLength;
        var buffer = ArrayPool<byte>.Shared.Rent(digestLength + envelope.Length);
        id.WriteDigest(buffer);
        envelope.CopyTo(buffer.AsSpan(digestLength));
        int slot = shard.AllocateSlot();
        ref var s = ref shard.Slots[slot];
        s.Hash = hash;
        s.Expires = expires;
        s.Buffer = buffer;
        s.DigestLength = digestLength;
        s.EnvelopeLength = envelope.Length;
        s.Charge = charge;
        s.Prev = shard.Tail;
        s.Next = -1;
        if (shard.Tail >= 0)
        {
            shard.Slots[shard.Tail].Next = slot;
        }
        else
        {
            shard.Head = slot;
        }

        shard.Tail = slot;
        shard.Map[hash] = slot;
        Volatile.Write(ref shard.Count, shard.Count + 1);
        Volatile.Write(ref shard.Bytes, shard.Bytes + charge);
    }

    private static void RemoveLocked(Shard shard, int slot)
    {
        ref var s = ref shard.Slots[slot];
        if (s.Prev >= 0)
        {
            shard.Slots[s.Prev].Next = s.Next;
        }
        else
        {
            shard.Head = s.Next;
        }

        if (s.Next >= 0)
        {
            shard.Slots[s.Next].Prev = s.Prev;
        }
        else
        {
            shard.Tail = s.Prev;
        }

        shard.Map.Remove(s.Hash);
        ArrayPool<byte>.Shared.Return(s.Buffer!);
        Volatile.Write(ref shard.Count, shard.Count - 1);
        Volatile.Write(ref shard.Bytes, shard.Bytes - s.Charge);
        s = default;
        s.Next = shard.FreeHead;
        shard.FreeHead = slot;
    }

    private sealed class Shard(int maxEntries, long maxBytes)
    {
        // Small to start: a process may run thousands of nodes that never store a message (the membership load
        // generator); a busy shard doubles to its working size once and then allocates no more.
        private const int InitialSlots = 16;

        public readonly Lock Gate = new();
        public readonly Dictionary<ulong, int> Map = new(Math.Min(maxEntries, InitialSlots));
        public readonly int MaxEntries = Math.Max(maxEntries, 1);
        public readonly long MaxBytes = maxBytes;
        public Slot[] Slots = new Slot[Math.Min(Math.Max(maxEntries, 1), InitialSlots)];
        public int Used;
        public int FreeHead = -1;
        public int Head = -1;
        public int Tail = -1;
        public int Count;
        public long Bytes;

        public ReadOnlySpan<byte> DigestOf(int slot) => Slots[slot].Buffer.AsSpan(0, Slots[slot].DigestLength);

        public ReadOnlySpan<byte> EnvelopeOf(int slot) => Slots[slot].Buffer.AsSpan(Slots[slot].DigestLength, Slots[slot].EnvelopeLength);

        public int AllocateSlot()
        {
            if (FreeHead >= 0)
            {
                int free = FreeHead;
                FreeHead = Slots[free].Next;
                return free;
            }

            if (Used == Slots.Length)
            {
                Array.Resize(ref Slots, Math.Min(Slots.Length * 2, MaxEntries));
            }

            return Used++;
        }
    }

    private struct Slot
    {
        public ulong Hash;
        public long Expires;
        public byte[]? Buffer;
        public long Charge;
        public int DigestLength;
        public int EnvelopeLength;
        public int Prev;
        public int Next;
    }
}

/// <summary>Chooses which held messages a digest shows (egress filters). Implement on a struct.</summary>
internal interface IDigestFilter
{
    bool Include(in MessageId id);
}

/// <summary>Includes every message.</summary>
internal readonly struct IncludeAllDigests : IDigestFilter
{
    public bool Include(in MessageId id) => true;
}

/// <summary>Counters of a <see cref="MessageStore"/>.</summary>
internal sealed record MessageStoreStatistics(
    int Count, long Bytes, long Added, long Replaced, long Duplicates, long Stale, long Rejected, long Expired, long EvictedForEntries, long EvictedForBytes);
