namespace Engine.Membership;

/// <summary>Matches every member.</summary>
public readonly struct AnyPeerFilter : IPeerFilter
{
    /// <inheritdoc/>
    public bool Matches(Member member) => true;
}

/// <summary>Matches every member but one (the sender of the message being forwarded).</summary>
public readonly struct ExceptPeerFilter : IPeerFilter
{
    private readonly Member? _excluded;

    /// <summary>Excludes <paramref name="excluded"/> (null excludes nobody).</summary>
    public ExceptPeerFilter(Member? excluded) => _excluded = excluded;

    /// <inheritdoc/>
    public bool Matches(Member member) => !ReferenceEquals(member, _excluded);
}

/// <summary>Matches the members of one organization, except one (the sender).</summary>
public readonly struct OrgPeerFilter : IPeerFilter
{
    private readonly string _org;
    private readonly Member? _excluded;

    /// <summary>Members of <paramref name="org"/>, except <paramref name="excluded"/> (null excludes nobody).</summary>
    public OrgPeerFilter(string org, Member? excluded = null)
    {
        ArgumentNullException.ThrowIfNull(org);
        _org = org;
        _excluded = excluded;
    }

    /// <inheritdoc/>
    public bool Matches(Member member) => !ReferenceEquals(member, _excluded) && string.Equals(member.Org, _org, StringComparison.Ordinal);
}
