using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics.X86;

namespace Engine.Membership;

/// <summary>
/// One generation of the lock-free hash index from PKI-ID to <see cref="Member"/>: open addressing with linear probing
/// over cells that only ever go empty → member (claimed with one compare-and-swap) or, while the generation is
/// being copied to a larger one, empty → <see cref="Frozen"/>. A member never leaves its cell, so a probe sequence is
/// stable: purged members stay until the next copy drops them, and a key that comes back after a purge takes a new
/// cell further along its probe sequence.
/// <para>
/// Growth (or compaction after purges) copies the live members into <see cref="Next"/>: the copier freezes each empty
/// cell as it passes, so a racing insert either lands before the copier reaches the cell (and is copied) or finds the
/// cell frozen and inserts into <see cref="Next"/>. Lookups and inserts that meet a frozen cell continue in the next
/// generation; nobody waits for the copier.
/// </para>
/// </summary>
internal sealed class MemberIndex
{
    public static readonly Member Frozen = Member.CreateSentinel();

    private const int MinCapacity = 16;

    private readonly Cell[] _cells;
    private readonly int _mask;
    private readonly int _growAt;
    private int _claimed;

    /// <summary>The generation this one is being copied into (set once, then empty cells start freezing).</summary>
    public MemberIndex? Next;

    /// <summary>Set when every live member of this generation is in <see cref="Next"/>.</summary>
    public bool Migrated;

    public MemberIndex(int capacity, int generation)
    {
        _cells = new Cell[capacity];
        _mask = capacity - 1;
        _growAt = (int)(capacity * 0.7);
        Generation = generation;
    }

    public int Generation { get; }

    public int Capacity => _cells.Length;

    /// <summary>Cells holding a member (live or purged) in this generation.</summary>
    public int Claimed => Volatile.Read(ref _claimed);

    /// <summary>A power of two that holds <paramref name="members"/> at a load of at most one half.</summary>
    public static int CapacityFor(int members)
    {
        long wanted = Math.Max(MinCapacity, (long)members * 2);
        return wanted >= 1 << 30 ? 1 << 30 : (int)BitOperations.RoundUpToPowerOf2((uint)wanted);
    }

    /// <summary>The live member with this key, or null.</summary>
    public Member? Find(ReadOnlySpan<byte> pkiId, ulong hash)
    {
        var index = this;
        while (true)
        {
            var cells = index._cells;
            int mask = index._mask;
            int i = (int)hash & mask;
            for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask)
            {
                ref Cell cell = ref cells[i];
                var member = Volatile.Read(ref cell.Member);
                if (member is null)
                {
                    return null;
                }

                if (ReferenceEquals(member, Frozen))
                {
                    break;
                }

                ulong cellHash = cell.Hash;
                if ((cellHash == hash || cellHash == 0) && member.KeyEquals(pkiId) && !member.IsMarkedPurged)
                {
                    return member;
                }
            }

            // A frozen cell, or every cell probed: whatever is not here was inserted into the next generation.
            index = Volatile.Read(ref index.Next);
            if (index is null)
            {
                return null;
            }
        }
    }

    /// <summary>
    /// Inserts <paramref name="candidate"/> unless a live member with its key is already there; returns the member that
    /// holds the key afterwards (the candidate when inserted).
    /// </summary>
    public Member InsertOrGet(Member candidate, ulong hash, MembershipTable table)
    {
        var key = candidate.PkiId;
        var index = this;
        while (true)
        {
            var cells = index._cells;
            int mask = index._mask;
            int i = (int)hash & mask;
            bool frozen = false;
            for (int probes = 0; probes <= mask; probes++)
            {
                ref Cell cell = ref cells[i];
                var member = Volatile.Read(ref cell.Member);
                if (member is null)
                {
                    candidate.HomeGeneration = index.Generation;
                    member = Interlocked.CompareExchange(ref cell.Member, candidate, null);
                    if (member is null)
                    {
                        cell.Hash = hash;
                        index.OnClaimed(table);
                        return candidate;
                    }
                }

                if (ReferenceEquals(member, Frozen))
                {
                    frozen = true;
                    break;
                }

                ulong cellHash = cell.Hash;
                if ((cellHash == hash || cellHash == 0) && member.KeyEquals(key) && !member.IsMarkedPurged)
                {
                    return member;
                }

                i = (i + 1) & mask;
            }

            var next = Volatile.Read(ref index.Next);
            if (next is null && !frozen)
            {
                // Every cell is taken (inserts outran the growth trigger): grow now, on this thread.
                table.Grow(index);
                next = Volatile.Read(ref index.Next);
            }

            index = next!;
        }
    }

    private void OnClaimed(MembershipTable table)
    {
        if (Interlocked.Increment(ref _claimed) == _growAt)
        {
            table.Grow(this);
        }
    }

    /// <summary>Copies every live member into <see cref="Next"/>, freezing empty cells. Run by one thread per generation.</summary>
    public void MigrateTo(MemberIndex next, MembershipTable table)
    {
        var cells = _cells;
        for (int i = 0; i < cells.Length; i++)
        {
            ref Cell cell = ref cells[i];
            var member = Volatile.Read(ref cell.Member) ?? Interlocked.CompareExchange(ref cell.Member, Frozen, null);
            if (member is not null && !member.IsPurged)
            {
                // The inserting thread writes the hash just after its member: until then, hash the key again.
                ulong hash = Volatile.Read(ref cell.Hash);
                next.InsertCopy(member, hash != 0 ? hash : table.HashOf(member.PkiId), table);
            }
        }

        Volatile.Write(ref Migrated, true);
    }

    /// <summary>Inserts a member copied from the previous generation (keeps it unless it is already there).</summary>
    private void InsertCopy(Member member, ulong hash, MembershipTable table)
    {
        var index = this;
        while (true)
        {
            var cells = index._cells;
            int mask = index._mask;
            int i = (int)hash & mask;
            for (int probes = 0; probes <= mask; probes++, i = (i + 1) & mask)
            {
                ref Cell cell = ref cells[i];
                var existing = Volatile.Read(ref cell.Member) ?? Interlocked.CompareExchange(ref cell.Member, member, null);
                if (existing is null)
                {
                    cell.Hash = hash;
                    index.OnClaimed(table);
                    return;
                }

                if (ReferenceEquals(existing, member))
                {
                    return;
                }

                if (ReferenceEquals(existing, Frozen))
                {
                    break;
                }
            }

            var next = Volatile.Read(ref index.Next);
            if (next is null)
            {
                table.Grow(index);
                next = Volatile.Read(ref index.Next)!;
            }

            index = next;
        }
    }

    /// <summary>The member in cell <paramref name="position"/> if it is a real member inserted in this generation or copied into it.</summary>
    public Member? MemberAt(int position)
    {
        var member = Volatile.Read(ref _cells[position].Member);
        return member is null || ReferenceEquals(member, Frozen) ? null : member;
    }

    /// <summary>
    /// Asks the CPU to start fetching the member in cell <paramref name="position"/> (if any) into the cache: a walk
    /// over the cells calls it a few cells ahead, so the misses on the members overlap instead of following each other.
    /// Only a hint: the reference is read as an address, and a stale one (an object the collector moved since) costs a
    /// useless fetch, never a fault.
    /// </summary>
    public unsafe void Prefetch(int position)
    {
        if (Sse.IsSupported && (uint)position < (uint)_cells.Length)
        {
            var member = Volatile.Read(ref _cells[position].Member);
            if (member is not null)
            {
                byte* address = (byte*)Unsafe.As<Member, nint>(ref member);
                Sse.Prefetch0(address);
                Sse.Prefetch0(address + 63); // a member spans two cache lines unless it starts on one
            }
        }
    }

    internal struct Cell
    {
        public Member? Member;

        // Written once by the thread that claimed the cell, after the claim; zero means "not written yet".
        public ulong Hash;
    }
}
