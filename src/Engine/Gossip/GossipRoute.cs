using Engine.Membership;
using Engine.Transport;

namespace Engine.Gossip;

/// <summary>A routing condition the membership table cannot answer alone (channel membership, "has state in the channel").</summary>
internal interface IMemberPredicate
{
    /// <summary>True when the message may go to <paramref name="member"/>. Called concurrently; must not block.</summary>
    bool Matches(Member member);
}

/// <summary>
/// Where a message may go: members of <see cref="Org"/> (null: any org) that <see cref="Predicate"/> accepts, never
/// <see cref="Exclude"/> (the peer it came from). <see cref="Fanout"/> picks how many: 0 means the configured
/// propagatePeerNum; a larger value (leadership messages go to all same-org channel members) is capped by the emitter.
/// </summary>
internal readonly struct GossipRoute
{
    public string? Org { get; init; }

    public PeerEndpoint Exclude { get; init; }

    public IMemberPredicate? Predicate { get; init; }

    public int Fanout { get; init; }

    /// <summary>Any peer except <paramref name="sender"/>.</summary>
    public static GossipRoute Except(PeerEndpoint sender) => new() { Exclude = sender };

    /// <summary>The same route, never back to <paramref name="sender"/>.</summary>
    public GossipRoute WithExclude(PeerEndpoint sender) => this with { Exclude = sender };
}

/// <summary>The <see cref="IPeerFilter"/> a route samples with: the route's conditions, and never this peer itself.</summary>
internal readonly struct RouteFilter(in GossipRoute route, PeerEndpoint self) : IPeerFilter
{
    private readonly PeerEndpoint _exclude = route.Exclude;
    private readonly PeerEndpoint _self = self;
    private readonly IMemberPredicate? _predicate = route.Predicate;

    public bool Matches(Member member)
    {
        var endpoint = member.Endpoint;
        return endpoint != _exclude && endpoint != _self && (_predicate is null || _predicate.Matches(member));
    }
}

/// <summary>Draws the peers of a route from the membership table, lock-free (the table's sampling).</summary>
internal static class RouteSampler
{
    public static int Sample(MembershipTable members, in GossipRoute route, PeerEndpoint self, Span<Member> destination)
    {
        var filter = new RouteFilter(in route, self);
        return route.Org is null ? members.Sample(destination, filter) : members.SampleOrg(route.Org, destination, filter);
    }
}
