using System.Runtime.CompilerServices;
using Engine.Transport;

namespace Engine.Membership;

/// <summary>
/// A member's PKI-ID, endpoints and metadata. Immutable and shared: <see cref="For"/> hands out one instance per
/// distinct content from a small process-wide cache, so the tables of many nodes in one process (the load generator's
/// simulations, tests) hold one record per member between them instead of one each — the key included, which is why
/// it lives here and not in the member (32 bytes less per member entry there; in a table of its own the record is
/// allocated right after its member, so reading the key costs little more than reading the member). A member's info
/// is replaced by reference only when an accepted message carries different endpoints or metadata (see
/// MembershipTable.Update.cs); every record a member holds has its key.
/// </summary>
internal sealed class MemberInfo
{
    // 512 KB of references in sets of four (half a cache line). Direct-mapped, two members sharing a slot evicted each
    // other and were copied once per table: 63,855 records for 2,000 members in 2,000 tables. With four ways that
    // takes five members in one set. Nothing else depends on a hit.
    private const int CacheSlots = 1 << 16;
    private const int Ways = 4;

    public static readonly byte[] NoMetadata = [];

    private static readonly MemberInfo?[] Cache = new MemberInfo?[CacheSlots];

    // Per set, the next way to evict when all four are taken: first in, first out, so records another part of the
    // process made long ago give way before recent ones (a victim chosen by hash made a full cache direct-mapped again).
    // Unsynchronized: a lost increment only evicts the same way twice.
    private static readonly byte[] NextVictim = new byte[CacheSlots / Ways];

    private const int InlineKeyBytes = 32;

    public readonly PeerEndpoint Endpoint;
    public readonly byte[] Metadata;

    /// <summary>
    /// <see cref="PeerKey.Hash"/> of the key with seed 0: the same in every process, so a membership request's known
    /// filter is built and checked from it (a walk over a view then hashes no key).
    /// </summary>
    public readonly ulong KeyHash;

    private readonly int _hash;

    // The internal and external endpoints are most often absent or equal to the endpoint: then a flag says so, and
    // only a record whose endpoints differ carries them; so does a record whose key is longer than 32 bytes.
    private readonly Extras? _extras;
    private readonly byte _same;

    // PKI-IDs are SHA-256 hashes (32 bytes) in Fabric: kept inline (length 0: the key is in the extras).
    private readonly byte _keyLength;
    private readonly InlineKey _key;

    private const byte InternalSame = 1;
    private const byte ExternalSame = 2;

    private MemberInfo(ReadOnlySpan<byte> pkiId, in MemberAnnouncement announcement, int hash)
    {
        Endpoint = announcement.Endpoint;
        Metadata = announcement.Metadata.IsEmpty ? NoMetadata : announcement.Metadata.ToArray();
        KeyHash = PeerKey.Hash(pkiId, 0);
        _hash = hash;
        var internalEndpoint = announcement.InternalEndpoint;
        var externalEndpoint = announcement.ExternalEndpoint;
        _same = (byte)((internalEndpoint == Endpoint ? InternalSame : 0) | (externalEndpoint == Endpoint ? ExternalSame : 0));
        bool internalKept = internalEndpoint.IsEmpty || internalEndpoint == Endpoint;
        bool externalKept = externalEndpoint.IsEmpty || externalEndpoint == Endpoint;
        bool inlineKey = pkiId.Length <= InlineKeyBytes;
        if (inlineKey)
        {
            pkiId.CopyTo(_key);
            _keyLength = (byte)pkiId.Length;
        }

        if (!internalKept || !externalKept || !inlineKey)
        {
            _extras = new Extras(internalEndpoint, externalEndpoint, inlineKey ? null : pkiId.ToArray());
        }
    }

    /// <summary>The member's PKI-ID.</summary>
    public ReadOnlySpan<byte> PkiId => _keyLength != 0 ? ((ReadOnlySpan<byte>)_key)[.._keyLength] : _extras?.LongKey;

    /// <summary>The internal endpoint (empty when the member announced none).</summary>
    public PeerEndpoint InternalEndpoint => (_same & InternalSame) != 0 ? Endpoint : _extras?.Internal ?? default;

    /// <summary>The external endpoint (empty when the member announced none).</summary>
    public PeerEndpoint ExternalEndpoint => (_same & ExternalSame) != 0 ? Endpoint : _extras?.External ?? default;

    /// <summary>The empty record (the index's frozen-cell marker).</summary>
    public static MemberInfo Empty { get; } = new(default, default, 0);

    /// <summary>
    /// The record holding <paramref name="pkiId"/> and <paramref name="announcement"/>'s endpoints and metadata: the
    /// cached one when its set holds equal content, else a new one, which takes a free way or the set's oldest.
    /// Thread-safe: ways are single references, read and written whole; a lost race only costs a second copy.
    /// </summary>
    public static MemberInfo For(ReadOnlySpan<byte> pkiId, in MemberAnnouncement announcement)
    {
        int hash = HashOf(pkiId, in announcement);
        int set = hash & (CacheSlots - Ways);
        int free = -1;
        for (int way = 0; way < Ways; way++)
        {
            var cached = Volatile.Read(ref Cache[set + way]);
            if (cached is null)
            {
                free = free < 0 ? set + way : free;
            }
            else if (cached._hash == hash && cached.SameAs(in announcement) && cached.KeyEquals(pkiId))
            {
                return cached;
            }
        }

        var created = new MemberInfo(pkiId, in announcement, hash);
        Volatile.Write(ref Cache[free >= 0 ? free : set + (NextVictim[set / Ways]++ & (Ways - 1))], created);
        return created;
    }

    /// <summary>True when the record's key is <paramref name="pkiId"/>.</summary>
    public bool KeyEquals(ReadOnlySpan<byte> pkiId) => pkiId.SequenceEqual(PkiId);

    /// <summary>True when the record holds the endpoints and metadata <paramref name="announcement"/> carries (the key aside).</summary>
    public bool SameAs(in MemberAnnouncement announcement) =>
        Endpoint == announcement.Endpoint
        && InternalEndpoint == announcement.InternalEndpoint
        && ExternalEndpoint == announcement.ExternalEndpoint
        && announcement.Metadata.SequenceEqual(Metadata);

    private static int HashOf(ReadOnlySpan<byte> pkiId, in MemberAnnouncement announcement)
    {
        var hash = default(HashCode);
        hash.AddBytes(pkiId);
        hash.Add(announcement.Endpoint);
        hash.Add(announcement.InternalEndpoint);
        hash.Add(announcement.ExternalEndpoint);
        hash.AddBytes(announcement.Metadata);
        return hash.ToHashCode();
    }

    private sealed class Extras(PeerEndpoint internalEndpoint, PeerEndpoint externalEndpoint, byte[]? longKey)
    {
        public readonly PeerEndpoint Internal = internalEndpoint;
        public readonly PeerEndpoint External = externalEndpoint;
        public readonly byte[]? LongKey = longKey;
    }

    [InlineArray(InlineKeyBytes)]
    private struct InlineKey
    {
        private byte _element0;
    }
}
