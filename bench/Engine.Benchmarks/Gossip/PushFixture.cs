using Engine.Gossip;
using Engine.Membership;
using Engine.Transport;

namespace Engine.Benchmarks.Gossip;

/// <summary>What the push benchmarks share: 1,000 alive members of Org1MSP, a route to them, and a transport that drops every send.</summary>
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

    /// <summary>Members of Org1MSP, never the sender 10.0.0.1.</summary>
    public static GossipRoute Route() => GossipRoute.Except(PeerEndpoint.FromIPv4(0x0A000001u, 7051)) with { Org = "Org1MSP" };

    /// <summary>A transport that accepts every send and drops it: measures the emitter, not a network.</summary>
    internal sealed class SinkTransport : ITransport
    {
        public PeerEndpoint LocalEndpoint => PeerEndpoint.FromIPv4(0x0A000002u, 7051);

        public int MaxDatagramPayload => 1400;

        public int MaxFramePayload => 16 << 20;

        public ValueTask StartAsync(ITransportHandler handler, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public SendStatus SendDatagram(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

        public SendStatus SendFrame(PeerEndpoint destination, ReadOnlySpan<byte> payload) => SendStatus.Sent;

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
