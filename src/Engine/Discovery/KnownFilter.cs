using System.Buffers.Binary;
using System.Numerics;
using Engine.Membership;

namespace Engine.Discovery;

/// <summary>
/// What a membership request says the asker already holds: a Bloom filter of (PKI-ID, inc_num, seq_num) of each member
/// it holds, alive, suspect or dead (Engine's extension field <see cref="MembershipMessages.KnownFilterField"/>, ignored
/// by Fabric peers, which then answer in full). An entry the responder holds at exactly the time the asker holds the
/// member, in whatever state, is of no use to the asker: an alive entry is not newer (a member held dead at that time
/// stays dead), and a dead entry teaches only unknown members. The responder leaves it out. Entries the responder holds
/// newer, and members the asker does not know, still go. A false positive leaves out an entry the asker could have
/// used; the seed changes every round, so the next round's responders send it. Layout: 8-byte little-endian seed, one
/// byte of hash count, then the bit array.
/// </summary>
internal static class KnownFilter
{
    /// <summary>Bits per member (with <see cref="Hashes"/> probes: about 0.05% false positives).</summary>
    public const int BitsPerMember = 16;

    public const int Hashes = 11;

    private const int HeaderSize = 9;
    private const int MaxHashes = 16;
    private const int MinBitBytes = 8;

    /// <summary>
    /// Builds the filter of the members <paramref name="table"/> holds (alive, suspect or dead), at their times; empty
    /// when there are none. Sized for <paramref name="capacity"/> members when that is more than the table holds (room
    /// for <see cref="Add"/>).
    /// </summary>
    public static byte[] Build(MembershipTable table, ulong seed, int capacity = 0)
    {
        int held = table.AliveCount + table.SuspectCount + table.DeadCount;
        if (held == 0)
        {
            return [];
        }

        // Sized for the count read now; members added meanwhile only raise the false-positive rate a little.
        int bitBytes = Math.Max(MinBitBytes, ((Math.Max(held, capacity) * BitsPerMember) + 7) / 8);
        var filter = new byte[HeaderSize + bitBytes];
        BinaryPrimitives.WriteUInt64LittleEndian(filter, seed);
        filter[8] = Hashes;
        var bits = filter.AsSpan(HeaderSize);
        ulong bitCount = (ulong)bits.Length * 8;
        foreach (var member in table)
        {
            if (member.GetState(out var time) != MemberState.Purged)
            {
                ulong probe = KeyHash(member.KeyHash, time, seed), step = Step(probe);
                for (int i = 0; i < Hashes; i++, probe += step)
                {
                    ulong bit = BitOf(probe, bitCount);
                    bits[(int)(bit >> 3)] |= (byte)(1 << (int)(bit & 7));
                }
            }
        }

        return filter;
    }

    /// <summary>
    /// Adds a member at <paramref name="time"/> to a filter <see cref="Build"/> made (not empty). Not atomic: a bit lost
    /// to a concurrent add only makes a responder send that entry, as for a member the asker lacks.
    /// </summary>
    public static void Add(byte[] filter, ulong keyHash, PeerTime time)
    {
        ulong seed = BinaryPrimitives.ReadUInt64LittleEndian(filter);
        var bits = filter.AsSpan(HeaderSize);
        ulong bitCount = (ulong)bits.Length * 8;
        ulong probe = KeyHash(keyHash, time, seed), step = Step(probe);
        for (int i = 0; i < Hashes; i++, probe += step)
        {
            ulong bit = BitOf(probe, bitCount);
            bits[(int)(bit >> 3)] |= (byte)(1 << (int)(bit & 7));
        }
    }

    /// <summary>True when <paramref name="filter"/> has the layout above (at least 8 bytes of bits, 1 to 16 hashes).</summary>
    public static bool IsValid(ReadOnlySpan<byte> filter) =>
        filter.Length >= HeaderSize + MinBitBytes && filter[8] is >= 1 and <= MaxHashes;

    // From the key's hash with seed 0, which each member's info record keeps (a walk hashes no key), salted by the
    // filter's seed (a new one per round of sync requests). Until 8 December the key was hashed with the seed itself, on
    // both sides, for every member.
    private static ulong KeyHash(ulong keyHash, PeerTime time, ulong seed) =>
        Mix(Mix(Mix(keyHash ^ seed) ^ time.IncNum) ^ time.SeqNum);

    // Probe i is h + i * step (mod 2^64), step = h rotated by 32 bits, made odd; its bit is the probe's top 32 bits
    // scaled to the bit count (a multiply and a shift where a 64-bit modulo took tens of cycles, eleven times per member
    // on both sides of every sync round).
    private static ulong Step(ulong hash) => BitOperations.RotateLeft(hash, 32) | 1;

    private static ulong BitOf(ulong probe, ulong bitCount) => ((probe >> 32) * bitCount) >> 32;

    // The SplitMix64 finalizer.
    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>True when the asker may hold <paramref name="pkiId"/> at <paramref name="time"/> (always true for a false positive). The filter must be valid.</summary>
    public static bool MayContain(ReadOnlySpan<byte> filter, ReadOnlySpan<byte> pkiId, PeerTime time) =>
        MayContain(filter, PeerKey.Hash(pkiId, 0), time);

    /// <summary>As above, for the member whose key hashes (seed 0) to <paramref name="keyHash"/> (<see cref="Member.KeyHash"/>).</summary>
    public static bool MayContain(ReadOnlySpan<byte> filter, ulong keyHash, PeerTime time)
    {
        ulong seed = BinaryPrimitives.ReadUInt64LittleEndian(filter);
        int hashes = filter[8];
        var bits = filter[HeaderSize..];
        ulong bitCount = (ulong)bits.Length * 8;
        ulong probe = KeyHash(keyHash, time, seed), step = Step(probe);
        for (int i = 0; i < hashes; i++, probe += step)
        {
            ulong bit = BitOf(probe, bitCount);
            if ((bits[(int)(bit >> 3)] & (1 << (int)(bit & 7))) == 0)
            {
                return false;
            }
        }

        return true;
    }
}
