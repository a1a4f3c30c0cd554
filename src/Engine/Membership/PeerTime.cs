using System.Globalization;

namespace Engine.Membership;

/// <summary>
/// A member's logical clock, as Fabric's <c>PeerTime</c>: <see cref="IncNum"/> is the incarnation (the peer's start
/// time, so it grows on restart) and <see cref="SeqNum"/> counts the peer's heartbeats within that incarnation.
/// Two times are compared as the pair (inc, seq): a newer incarnation wins even with a lower sequence number.
/// </summary>
public readonly struct PeerTime : IEquatable<PeerTime>, IComparable<PeerTime>
{
    /// <summary>Creates a time from its incarnation and sequence numbers.</summary>
    public PeerTime(ulong incNum, ulong seqNum)
    {
        IncNum = incNum;
        SeqNum = seqNum;
    }

    /// <summary>The incarnation number (Fabric: the peer's start time in nanoseconds).</summary>
    public ulong IncNum { get; }

    /// <summary>The sequence number within the incarnation (+1 per alive message).</summary>
    public ulong SeqNum { get; }

    /// <inheritdoc/>
    public int CompareTo(PeerTime other)
    {
        int c = IncNum.CompareTo(other.IncNum);
        return c != 0 ? c : SeqNum.CompareTo(other.SeqNum);
    }

    /// <inheritdoc/>
    public bool Equals(PeerTime other) => IncNum == other.IncNum && SeqNum == other.SeqNum;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is PeerTime other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(IncNum, SeqNum);

    /// <summary>"inc/seq".</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{IncNum}/{SeqNum}");

    /// <summary>Equality.</summary>
    public static bool operator ==(PeerTime left, PeerTime right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(PeerTime left, PeerTime right) => !left.Equals(right);

    /// <summary>True when <paramref name="left"/> is older.</summary>
    public static bool operator <(PeerTime left, PeerTime right) => left.CompareTo(right) < 0;

    /// <summary>True when <paramref name="left"/> is newer.</summary>
    public static bool operator >(PeerTime left, PeerTime right) => left.CompareTo(right) > 0;

    /// <summary>True when <paramref name="left"/> is older or equal.</summary>
    public static bool operator <=(PeerTime left, PeerTime right) => left.CompareTo(right) <= 0;

    /// <summary>True when <paramref name="left"/> is newer or equal.</summary>
    public static bool operator >=(PeerTime left, PeerTime right) => left.CompareTo(right) >= 0;
}
