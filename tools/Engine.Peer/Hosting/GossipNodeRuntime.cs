using Engine.Membership;
using Engine.Node;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Hosting;

/// <summary>The real runtime: a <see cref="GossipNode"/> over a <see cref="SocketTransport"/> (UDP and TCP on one port).</summary>
internal sealed class GossipNodeRuntime : IPeerRuntime
{
    private readonly GossipNode _node;

    /// <summary>Creates the transport and the node; a bad option throws <see cref="ArgumentException"/> naming it.</summary>
    public GossipNodeRuntime(GossipOptions options, ILoggerFactory loggerFactory)
    {
        var transport = SocketTransport.Create(options.Transport, loggerFactory);
        try
        {
            _node = new GossipNode(options, transport, new GossipNodeContext { LoggerFactory = loggerFactory });
        }
        catch
        {
            transport.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    public ValueTask StartAsync(CancellationToken cancellationToken) => _node.StartAsync(cancellationToken);

    public ValueTask StopAsync() => _node.StopAsync();

    public RuntimeSnapshot GetSnapshot()
    {
        var view = _node.GetMembership();
        var members = new List<MemberStatus>(view.Alive.Count + view.Dead.Count);
        foreach (var peer in view.Alive.Concat(view.Dead))
        {
            members.Add(new MemberStatus(peer.PkiId, peer.Endpoint.ToString(), peer.Org, StateName(peer.State), peer.Time.IncNum, peer.Time.SeqNum));
        }

        var s = _node.GetStatistics();
        CounterStatus[] counters =
        [
            new("aliveSent", s.AliveSent),
            new("aliveReceived", s.AliveReceived),
            new("aliveForwarded", s.AliveForwarded),
            new("aliveStale", s.AliveStale),
            new("membershipRequestsSent", s.MembershipRequestsSent),
            new("membershipResponsesReceived", s.MembershipResponsesReceived),
            new("datagramsSent", s.DatagramsSent),
            new("datagramsReceived", s.DatagramsReceived),
            new("bytesSent", s.BytesSent),
            new("bytesReceived", s.BytesReceived),
            new("decodeErrors", s.DecodeErrors),
            new("signaturesVerified", s.SignaturesVerified),
            new("signedMessagesRefused", s.SignedMessagesRefused),
            new("unknownIdentity", s.UnknownIdentity),
        ];
        var channels = new List<ChannelStatus>();
        foreach (string channel in _node.Channels)
        {
            var c = _node.GetChannelView(channel);
            channels.Add(new ChannelStatus(channel, c.Height, c.IsLeader, [.. c.Leaders.Select(l => l.Endpoint.ToString())], c.Members.Count));
        }

        return new RuntimeSnapshot(_node.OrgId, _node.Endpoint.ToString(), Convert.ToHexStringLower(_node.PkiId.Span), _node.IsRunning, members, counters, channels);
    }

    private static string StateName(MemberState state) => state switch
    {
        MemberState.Alive => "alive",
        MemberState.Suspect => "suspect",
        MemberState.Dead => "dead",
        _ => state.ToString().ToLowerInvariant(),
    };

    public ValueTask DisposeAsync() => _node.DisposeAsync();
}
