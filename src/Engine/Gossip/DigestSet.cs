using System.Runtime.CompilerServices;
using Engine.Membership;

namespace Engine.Gossip;

/// <summary>
/// A reusable set of digests (short byte strings) kept in one arena, with an open-addressing index and two int slots
/// per digest for the caller. Adding and looking up allocate nothing once the arrays have grown to the working size;
/// <see cref="Clear"/> keeps them. Not thread-safe.
/// </summary>
internal sealed class DigestSet
{
    private readonly ulong _seed;
    private byte[] _arena;
    private int _arenaUsed;
    private int[] _offsets;
    private int[] _lengths;
    private int[] _values;
    private int[] _aux;
    private int[] _buckets; // index + 1; 0 = empty
    private int _count;

    public DigestSet(int initialCapacity = 16, ulong seed = 0x5EEDUL)
    {
        initialCapacity = Math.Max(initialCapacity, 4);
        _seed = seed;
        _arena = new byte[initialCapacity * 48];
        _offsets = new int[initialCapacity];
        _lengths = new int[initialCapacity];
        _values = new int[initialCapacity];
        _aux = new int[initialCapacity];
        _buckets = new int[BucketsFor(initialCapacity)];
    }

    public int Count => _count;

    /// <summary>Bytes of digest held.</summary>
    public int Bytes => _arenaUsed;

    public ReadOnlySpan<byte> this[int index] => _arena.AsSpan(_offsets[index], _lengths[index]);

    /// <summary>A caller's int slot for the digest at <paramref name="index"/>.</summary>
    public ref int Value(int index) => ref _values[index];

    /// <summary>A second caller's int slot for the digest at <paramref name="index"/>.</summary>
    public ref int Aux(int index) => ref _aux[index];

    public void Clear()
    {
        if (_count > 0)
        {
            Array.Clear(_buckets);
        }

        _count = 0;
        _arenaUsed = 0;
    }

    public bool Contains(ReadOnlySpan<byte> digest) => IndexOf(digest) >= 0;

    public int IndexOf(ReadOnlySpan<byte> digest)
    {
        ulong hash = PeerKey.Hash(digest, _seed);
        int mask = _buckets.Length - 1;
        for (int b = (int)hash & mask; ; b = (b + 1) & mask)
        {
            int entry = _buckets[b] - 1;
            if (entry < 0)
            {
                return -1;
            }

            if (this[entry].SequenceEqual(digest))
            {
                return entry;
            }
        }
    }

    /// <summary>Adds the digest unless present; returns its index (values of a new digest start at 0).</summary>
    public int AddOrGet(ReadOnlySpan<byte> digest, out bool added)
    {
        ulong hash = PeerKey.Hash(digest, _seed);
        int mask = _buckets.Length - 1;
        int b = (int)hash & mask;
        for (; ; b = (b + 1) & mask)
        {
            int entry = _buckets[b] - 1;
            if (entry < 0)
            {
                break;
            }

            if (this[entry].SequenceEqual(digest))
            {
                added = false;
                return entry;
            }
        }

        if (_count == _offsets.Length || _arenaUsed + digest.Length > _arena.Length)
        {
            Grow(digest.Length);
            return AddOrGet(digest, out added);
        }

        int index = _count++;
        digest.CopyTo(_arena.AsSpan(_arenaUsed));
        _offsets[index] = _arenaUsed;
        _lengths[index] = digest.Length;
        _values[index] = 0;
        _aux[index] = 0;
        _arenaUsed += digest.Length;
        _buckets[b] = index + 1;
        added = true;
        return index;
    }

    /// <summary>A span at the arena's end to write a digest into, then add it with <see cref="CommitReserved"/> (no copy from elsewhere).</summary>
    public Span<byte> Reserve(int length)
    {
        if (_arenaUsed + length > _arena.Length)
        {
            Grow(length);
        }

        return _arena.AsSpan(_arenaUsed, length);
    }

    /// <summary>Commits a digest written into <see cref="Reserve"/>'s span; returns its index, or the existing one.</summary>
    public int CommitReserved(int length, out bool added)
    {
        // The reserved bytes sit at the arena's end: AddOrGet copies them onto themselves when they are new.
        return AddOrGet(_arena.AsSpan(_arenaUsed, length), out added);
    }

    private void Grow(int need)
    {
        if (_count == _offsets.Length)
        {
            int capacity = _offsets.Length * 2;
            Array.Resize(ref _offsets, capacity);
            Array.Resize(ref _lengths, capacity);
            Array.Resize(ref _values, capacity);
            Array.Resize(ref _aux, capacity);
            _buckets = new int[BucketsFor(capacity)];
            Reindex();
        }

        if (_arenaUsed + need > _arena.Length)
        {
            Array.Resize(ref _arena, Math.Max(_arena.Length * 2, _arenaUsed + need));
        }
    }

    private void Reindex()
    {
        int mask = _buckets.Length - 1;
        for (int i = 0; i < _count; i++)
        {
            int b = (int)PeerKey.Hash(this[i], _seed) & mask;
            while (_buckets[b] != 0)
            {
                b = (b + 1) & mask;
            }

            _buckets[b] = i + 1;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static int BucketsFor(int capacity) => (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity * 2);
}
