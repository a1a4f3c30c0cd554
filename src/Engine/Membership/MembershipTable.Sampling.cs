namespace Engine.Membership;

public sealed partial class MembershipTable
{
    /// <summary>Reachable members in the sampling index (alive and suspect; may trail the state by one reconcile).</summary>
    internal int SampleableCount => _alive.Count;

    /// <summary>
    /// Picks up to <c>destination.Length</c> distinct reachable (alive or suspect) members that match
    /// <paramref name="filter"/>, uniformly at random, and returns how many it wrote (fewer when fewer match).
    /// Lock-free and allocation-free; O(k) picks while the filter matches a fair share of the members, with a bounded
    /// number of attempts and then one O(n) pass, so a filter that matches few members still terminates.
    /// </summary>
    public int Sample<TFilter>(Span<Member> destination, TFilter filter)
        where TFilter : struct, IPeerFilter
    {
        // Each call gets its own generator: one atomic step of the table's sequence, mixed into a seed.
        var random = new SampleRandom(SampleRandom.Mix(_sampleSeed + Interlocked.Increment(ref _sampleCounter)));
        return _alive.Sample(destination, ref filter, ref random);
    }

    /// <summary>Picks up to <c>destination.Length</c> distinct reachable members uniformly at random.</summary>
    public int Sample(Span<Member> destination) => Sample(destination, default(AnyPeerFilter));
}
