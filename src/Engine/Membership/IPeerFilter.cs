namespace Engine.Membership;

/// <summary>
/// Decides which members a sample may return (organization, channel, "not the sender"...). Implement it on a struct:
/// <see cref="MembershipTable.Sample{TFilter}(Span{Member}, TFilter)"/> is generic over the filter type, so the check
/// is inlined and nothing is allocated. It is called concurrently with updates: read the member, do not block.
/// </summary>
public interface IPeerFilter
{
    /// <summary>True when <paramref name="member"/> may be returned.</summary>
    bool Matches(Member member);
}
