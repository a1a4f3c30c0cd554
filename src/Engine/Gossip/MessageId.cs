using System.Buffers.Binary;
using Engine.Membership;

namespace Engine.Gossip;

/// <summary>
/// Who a message is about and which version it is: a view over the caller's bytes (nothing copied).
/// Per-peer kinds (alive, state info, leadership) are identified by (kind, channel, origin PKI-ID) and versioned by
/// <see cref="Time"/>; blocks are identified by (kind, channel, sequence number), application data by (kind, origin,
/// incarnation, sequence number); neither has versions.
/// </summary>
/// <remarks>
/// The <b>digest</b> is the identity and version on the wire (pull Digest and Request messages carry it):
/// <c>[kind u8][inc u64 BE][seq u64 BE][channel length u8][channel][origin]</c>. For blocks inc = 0 and seq is the
/// block number. A digest is at most <see cref="MaxDigestLength"/> bytes.
/// </remarks>
internal readonly ref struct MessageId
{
    public const int MaxChannelLength = 255;
    public const int MaxOriginLength = 64;
    public const int DigestHeaderLength = 18;
    public const int MaxDigestLength = DigestHeaderLength + MaxChannelLength + MaxOriginLength;

    public MessageId(MessageKind kind, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> origin, PeerTime time)
    {
        Kind = kind;
        Channel = channel;
        Origin = origin;
        Time = time;
    }

    public MessageKind Kind { get; }

    public ReadOnlySpan<byte> Channel { get; }

    /// <summary>The PKI-ID of the peer the message is about (empty for blocks).</summary>
    public ReadOnlySpan<byte> Origin { get; }

    /// <summary>The version for per-peer kinds; (0, sequence number) for blocks; (incarnation, sequence number) for application data.</summary>
    public PeerTime Time { get; }

    /// <summary>The block number (blocks only).</summary>
    public ulong Sequence => Time.SeqNum;

    /// <summary>True for kinds where a newer version replaces an older one.</summary>
    public bool IsVersioned => Kind is not (MessageKind.Block or MessageKind.AppData);

    public static MessageId ForPeer(MessageKind kind, ReadOnlySpan<byte> channel, ReadOnlySpan<byte> origin, PeerTime time) =>
        new(kind, channel, origin, time);

    public static MessageId ForBlock(ReadOnlySpan<byte> channel, ulong sequence) =>
        new(MessageKind.Block, channel, default, new PeerTime(0, sequence));

    /// <summary>Application data published by <paramref name="origin"/> in its incarnation <paramref name="incarnation"/>.</summary>
    public static MessageId ForAppData(ReadOnlySpan<byte> origin, ulong incarnation, ulong sequence) =>
        new(MessageKind.AppData, default, origin, new PeerTime(incarnation, sequence));

    /// <summary>False when the channel or origin is longer than a digest can carry, or the kind is unknown.</summary>
    public bool IsValid =>
        Kind is >= MessageKind.Alive and <= MessageKind.AppData && Channel.Length <= MaxChannelLength && Origin.Length <= MaxOriginLength &&
        (Kind == MessageKind.Block ? Origin.IsEmpty : !Origin.IsEmpty);

    public int DigestLength => DigestHeaderLength + Channel.Length + Origin.Length;

    /// <summary>Writes the digest; returns its length. <paramref name="destination"/> must hold <see cref="DigestLength"/> bytes.</summary>
    public int WriteDigest(Span<byte> destination)
    {
        destination[0] = (byte)Kind;
        BinaryPrimitives.WriteUInt64BigEndian(destination[1..], Time.IncNum);
        BinaryPrimitives.WriteUInt64BigEndian(destination[9..], Time.SeqNum);
        destination[17] = (byte)Channel.Length;
        Channel.CopyTo(destination[DigestHeaderLength..]);
        Origin.CopyTo(destination[(DigestHeaderLength + Channel.Length)..]);
        return DigestLength;
    }

    /// <summary>Reads a digest (a view over <paramref name="digest"/>); false when malformed.</summary>
    public static bool TryParseDigest(ReadOnlySpan<byte> digest, out MessageId id)
    {
        id = default;
        if (digest.Length < DigestHeaderLength || digest.Length > MaxDigestLength)
        {
            return false;
        }

        int channelLength = digest[17];
        if (DigestHeaderLength + channelLength > digest.Length)
        {
            return false;
        }

        id = new MessageId(
            (MessageKind)digest[0],
            digest.Slice(DigestHeaderLength, channelLength),
            digest[(DigestHeaderLength + channelLength)..],
            new PeerTime(BinaryPrimitives.ReadUInt64BigEndian(digest[1..]), BinaryPrimitives.ReadUInt64BigEndian(digest[9..])));
        return id.IsValid;
    }

    /// <summary>True when both name the same message slot (any version for per-peer kinds).</summary>
    public bool SameIdentity(in MessageId other) =>
        Kind == other.Kind && Channel.SequenceEqual(other.Channel) && Origin.SequenceEqual(other.Origin) &&
        (IsVersioned || Time == other.Time);

    /// <summary>A seeded 64-bit hash of the identity (the version is not part of it for per-peer kinds).</summary>
    public ulong IdentityHash(ulong seed)
    {
        ulong h = PeerKey.Hash(Channel, seed ^ (ulong)Kind);
        h = PeerKey.Hash(Origin, h);
        return IsVersioned ? h : Mix(h ^ Sequence ^ (Time.IncNum * 0x9E3779B97F4A7C15UL));
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return z == 0 ? 1 : z;
    }

    public override string ToString() => Kind == MessageKind.Block
        ? $"block {Sequence} of channel '{System.Text.Encoding.UTF8.GetString(Channel)}'"
        : Kind == MessageKind.AppData ? $"data {Time.SeqNum} of {Convert.ToHexStringLower(Origin[..Math.Min(Origin.Length, 8)])} (incarnation {Time.IncNum})"
        : $"{Kind} of {Convert.ToHexStringLower(Origin[..Math.Min(Origin.Length, 8)])} at ({Time.IncNum}, {Time.SeqNum})";
}
