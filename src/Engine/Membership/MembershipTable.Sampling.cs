namespace Engine.Membership;

public sealed partial class MembershipTable
{
    /// <summary>Reachable members in the sampling index (alive and suspect; may trail the state by one reconcile).</summary>
    internal int SampleableCount => _alive.Count;

    /// <summary>The reachable member at a position of the sampling index (SWIM's round robin walks it); null when out of range.</summary>
    internal Member? SampleableAt(int position) => _alive.At(position);

    /// <summary>
    /// Picks up to <c>destination.Length</c> distinct reachable (alive or suspect) members that match
    /// <paramref name="filter"/>, uniformly at random, and returns how many it wrote (fewer when fewer match).
    /// Lock-free and allocation-free; O(k) picks while the filter matches a fair share of the members, with a bounded
    /// number of attempts and then one O(n) pass, so a filter that matches few members still terminates.
    /// </summary>
    public int Sample<TFilter>(Span<Member> destination, TFilter filter)
        where TFilter : struct, IPeerFilter
    {
        var random = NewRandom();
        return _alive.Sample(destination, ref filter, ref random);
    }

    /// <summary>Picks up to <c>destination.Length</c> distinct reachable members uniformly at random.</summary>
    public int Sample(Span<Member> destination) => Sample(destination, default(AnyPeerFilter));

    /// <summary>
    /// Like <see cref="Sample{TFilter}(Span{Member}, TFilter)"/>, among the members of organization
    /// <paramref name="org"/> only. Each organization has its own sampling index, so this costs O(k) however small a
    /// share of the table the organization is.
    /// </summary>
    public int SampleOrg<TFilter>(string org, Span<Member> destination, TFilter filter)
        where TFilter : struct, IPeerFilter
    {
        ArgumentNullException.ThrowIfNull(org);
        var scope = _orgs.Find(org);
        if (scope is null)
        {
            return 0;
        }

        var random = NewRandom();
        if (scope.Alive is { } index)
        {
            return index.Sample(destination, ref filter, ref random);
        }

        // The table's only organization so far: every member is in it, and the all-members index serves it (the
        // scope check keeps it exact while a second organization's index is being built).
        var scoped = new ScopeFilter<TFilter>(scope, filter);
        return _alive.Sample(destination, ref scoped, ref random);
    }

    private readonly struct ScopeFilter<TFilter>(OrgScope scope, TFilter inner) : IPeerFilter
        where TFilter : struct, IPeerFilter
    {
        public bool Matches(Member member) => member.OrgId == scope.Id && inner.Matches(member);
    }

    // Each call gets its own generator: one atomic step of the table's sequence, mixed into a seed.
    private SampleRandom NewRandom() => new(SampleRandom.Mix(_sampleSeed + Interlocked.Increment(ref _sampleCounter)));
}
