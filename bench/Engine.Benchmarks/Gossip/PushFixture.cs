using Engine.Gossip;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Benchmarks.Gossip;

/// <summary>What the push benchmarks share: 1,000 alive members of Org1MSP, a route to them, and a transport that drops every send (<see cref="Sink"/>).</summary>
internal static class PushFixture
{
    /// <summary>A membership table of 1,000 alive members of Org1MSP (endpoints 10.0.x.x:7051).</summary>
    public static MembershipTable Members()
    {
        var table = new MembershipTable(new MembershipOptions { InitialCapacity = 1024 }, TimeProvider.System, new Random(1));
        var key = new byte[32];
        for (int i = 0; i < 1000; i++)
        {
            BitConverter.TryWriteBytes(key, i);
            table.Update(key, new MemberAnnouncement(new PeerTime(1, 1), MemberState.Alive, PeerEndpoint.FromIPv4(0x0A000000u | (uint)i, 7051), org: "Org1MSP"), 0, out _);
        }

        return table;
    }

    /// <summary>A discarding transport on 10.0.0.2: this peer, a member other than the route's excluded sender.</summary>
    public static DiscardTransport Sink() => new(PeerEndpoint.FromIPv4(0x0A000002u, 7051));

    /// <summary>Members of Org1MSP, never the sender 10.0.0.1.</summary>
    public static GossipRoute Route() => GossipRoute.Except(PeerEndpoint.FromIPv4(0x0A000001u, 7051)) with { Org = "Org1MSP" };
}
