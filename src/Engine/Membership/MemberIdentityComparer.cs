namespace Engine.Membership;

/// <summary>
/// Members compared by identity (the object), hashed by their PKI-ID (hashed again on each call: the index keeps the
/// table's hash in its cell, not in the member): no object-header hash code is created for every member put in a
/// dictionary (that costs a header write per member and showed up in profiles of large runs).
/// </summary>
internal sealed class MemberIdentityComparer : IEqualityComparer<Member>
{
    public static readonly MemberIdentityComparer Instance = new();

    private MemberIdentityComparer()
    {
    }

    public bool Equals(Member? x, Member? y) => ReferenceEquals(x, y);

    public int GetHashCode(Member obj)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ulong hash = PeerKey.Hash(obj.PkiId, 0);
        return (int)hash ^ (int)(hash >> 32);
    }
}
