using System.Buffers.Binary;
using System.Security.Cryptography;
using Engine.Membership;

namespace Engine.Security;

/// <summary>A SHA-256 value held as four words, compared without allocating.</summary>
internal readonly struct Hash256 : IEquatable<Hash256>
{
    private readonly ulong _a;
    private readonly ulong _b;
    private readonly ulong _c;
    private readonly ulong _d;

    public Hash256(ReadOnlySpan<byte> bytes)
    {
        _a = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        _b = BinaryPrimitives.ReadUInt64LittleEndian(bytes[8..]);
        _c = BinaryPrimitives.ReadUInt64LittleEndian(bytes[16..]);
        _d = BinaryPrimitives.ReadUInt64LittleEndian(bytes[24..]);
    }

    /// <summary>
    /// What a cache entry vouches for: SHA-256(signature ‖ SHA-256(payload)). A hit needs the very bytes that were
    /// verified, so a copy with an altered payload or signature under the same (PKI-ID, PeerTime) is verified afresh.
    /// </summary>
    public static Hash256 OfSignedPayload(ReadOnlySpan<byte> payload, ReadOnlySpan<byte> signature)
    {
        Span<byte> buffer = stackalloc byte[MessageSigner.MaxSignatureLength + 32];
        signature.CopyTo(buffer);
        SHA256.HashData(payload, buffer.Slice(signature.Length, 32));
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(buffer[..(signature.Length + 32)], digest);
        return new Hash256(digest);
    }

    public bool Equals(Hash256 other) => _a == other._a && _b == other._b && _c == other._c && _d == other._d;

    public override bool Equals(object? obj) => obj is Hash256 other && Equals(other);

    public override int GetHashCode() => (int)_a;
}

/// <summary>
/// Remembers which signed messages were verified, keyed by (kind, PKI-ID, PeerTime) and bound to a digest of the exact
/// payload and signature, so each copy of a message that gossip delivers many times is verified once. Fixed size
/// (two-way set-associative, a newer entry evicts an older one), lock-free: each slot is a seqlock — readers never wait
/// and retry nothing (a slot being written is a miss), writers claim a slot with one compare-and-swap and skip it when
/// another writer holds it. Nothing is allocated after construction.
/// </summary>
internal sealed class VerifiedMessageCache
{
    /// <summary>Default slot count: 16 Ki (about 1.5 MiB), several messages for each of thousands of peers.</summary>
    public const int DefaultCapacity = 16 * 1024;

    private readonly Slot[] _slots;
    private readonly int _pairMask;
    private readonly ulong _seed;

    /// <param name="capacity">Slots, rounded up to a power of two (at least 2).</param>
    /// <param name="seed">Seeds slot placement, so it cannot be predicted from outside.</param>
    public VerifiedMessageCache(int capacity = DefaultCapacity, ulong seed = 0x5EC0_12E5_CAC4_E000)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(capacity, 1 << 26);
        int size = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)capacity);
        _slots = new Slot[size];
        _pairMask = (size - 1) & ~1;
        _seed = seed | 1;
    }

    public int Capacity => _slots.Length;

    public bool Contains(SignedKind kind, in PkiId pki, PeerTime time, in Hash256 digest)
    {
        int i = Index(kind, pki, time);
        return Matches(ref _slots[i], kind, pki, time, digest) || Matches(ref _slots[i + 1], kind, pki, time, digest);
    }

    public void Add(SignedKind kind, in PkiId pki, PeerTime time, in Hash256 digest)
    {
        int i = Index(kind, pki, time);
        ref Slot first = ref _slots[i];
        ref Slot second = ref _slots[i + 1];

        // Same key already held (another digest for it): overwrite it; else an empty slot; else the older of the two.
        ref Slot target = ref first;
        if (SameKey(ref second, kind, pki, time))
        {
            target = ref second;
        }
        else if (!SameKey(ref first, kind, pki, time) && first.Kind != SignedKind.None
            && (second.Kind == SignedKind.None || second.Stamp - first.Stamp > int.MaxValue))
        {
            target = ref second; // second is empty, or older (stamps wrap; compared as a difference)
        }

        int version = Volatile.Read(ref target.Version);
        if ((version & 1) != 0 || Interlocked.CompareExchange(ref target.Version, version + 1, version) != version)
        {
            return; // another writer holds the slot; a cache may forget
        }

        target.Kind = kind;
        target.Pki = pki;
        target.Time = time;
        target.Digest = digest;
        target.Stamp = (uint)Environment.TickCount;
        Volatile.Write(ref target.Version, version + 2);
    }

    private static bool SameKey(ref Slot slot, SignedKind kind, in PkiId pki, PeerTime time) =>
        slot.Kind == kind && slot.Time == time && slot.Pki == pki;

    private static bool Matches(ref Slot slot, SignedKind kind, in PkiId pki, PeerTime time, in Hash256 digest)
    {
        int before = Volatile.Read(ref slot.Version);
        if ((before & 1) != 0)
        {
            return false;
        }

        bool equal = slot.Kind == kind && slot.Time == time && slot.Pki == pki && slot.Digest.Equals(digest);

        // The field reads above must complete before the version is read again (a load-load fence).
        Interlocked.MemoryBarrier();
        return equal && Volatile.Read(ref slot.Version) == before;
    }

    private int Index(SignedKind kind, in PkiId pki, PeerTime time)
    {
        ulong h = (pki.Hash64 ^ _seed) + ((ulong)kind * 0x9E3779B97F4A7C15UL);
        h = (h ^ time.IncNum) * 0xC2B2AE3D27D4EB4FUL;
        h = (h ^ time.SeqNum) * 0x165667B19E3779F9UL;
        h ^= h >> 29;
        return (int)h & _pairMask;
    }

    private struct Slot
    {
        public int Version; // even: stable; odd: being written
        public SignedKind Kind; // None: empty
        public uint Stamp;
        public PkiId Pki;
        public PeerTime Time;
        public Hash256 Digest;
    }
}
