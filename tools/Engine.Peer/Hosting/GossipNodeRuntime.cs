using Engine.Membership;
using Engine.Node;
using Engine.Peer.Configuration;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Peer.Hosting;

/// <summary>
/// The real runtime: a <see cref="GossipNode"/> over a <see cref="SocketTransport"/> (UDP and TCP on one port). Once the
/// node runs it joins the configured channels (<c>peer.channels</c>) in the background: per channel it fetches the
/// genesis block from the orderer (<see cref="GenesisFetcher"/>, retrying until the orderer has it) and calls
/// <see cref="GossipNode.JoinChannel"/>, after which the channel's election, StateInfo, push and pull run.
/// </summary>
internal sealed class GossipNodeRuntime : IPeerRuntime
{
    private readonly GossipNode _node;
    private readonly IReadOnlyList<PeerChannel> _channels;
    private readonly string _peerId;
    private readonly ILoggerFactory _loggerFactory;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopJoining = new();
    private readonly Dictionary<string, string> _joinState = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();
    private readonly TimeSpan _ordererRetryInterval;
    private Task[] _joins = [];

    /// <summary>Creates the transport and the node; a bad option throws <see cref="ArgumentException"/> naming it.</summary>
    public GossipNodeRuntime(GossipOptions options, ILoggerFactory loggerFactory, IReadOnlyList<PeerChannel>? channels = null, string peerId = "peer0")
    {
        _channels = channels ?? [];
        _peerId = peerId;
        _ordererRetryInterval = options.OrdererRetryInterval;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger("Engine.Peer");
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

    public async ValueTask StartAsync(CancellationToken cancellationToken)
    {
        await _node.StartAsync(cancellationToken);
        _joins = [.. _channels.Select(c => JoinAsync(c, _stopJoining.Token))];
    }

    /// <summary>Fetches <paramref name="channel"/>'s genesis block from its orderer and joins; logs (never throws) what went wrong.</summary>
    private async Task JoinAsync(PeerChannel channel, CancellationToken cancellationToken)
    {
        await Task.Yield();
        SetJoinState(channel.Name, $"joining: waiting for the genesis block from the orderer {channel.Orderer}");
        PeerLog.FetchingGenesis(_logger, _peerId, channel.Name, channel.Orderer);
        long begin = TimeProvider.System.GetTimestamp();
        try
        {
            byte[] genesis = await GenesisFetcher.FetchAsync(channel, _node.OrgId, _peerId, _node.Endpoint,
                _ordererRetryInterval, _loggerFactory, cancellationToken);
            _node.JoinChannel(genesis, channel.Orderer);
            SetJoinState(channel.Name, null);
            long elapsedMs = (long)TimeProvider.System.GetElapsedTime(begin).TotalMilliseconds;
            PeerLog.JoinedChannel(_logger, _peerId, channel.Name, channel.Orderer, elapsedMs);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is InvalidDataException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException)
        {
            SetJoinState(channel.Name, "not joined: " + e.Message);
            PeerLog.JoinFailed(_logger, _peerId, channel.Name, channel.Orderer, e.Message);
        }
    }

    private void SetJoinState(string channel, string? state)
    {
        lock (_gate)
        {
            if (state is null)
            {
                _joinState.Remove(channel);
            }
            else
            {
                _joinState[channel] = state;
            }
        }
    }

    public async ValueTask StopAsync()
    {
        await _stopJoining.CancelAsync();
        await Task.WhenAll(_joins);
        await _node.StopAsync();
    }

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
        var joined = _node.Channels;
        foreach (string channel in joined)
        {
            var c = _node.GetChannelView(channel);
            var b = _node.GetBlockStatistics(channel);
            channels.Add(new ChannelStatus(channel, "joined", c.Height, c.IsLeader,
                [.. c.Leaders.Select(l => l.Endpoint.ToString())],
                [.. c.Members.Select(m => new ChannelMemberStatus(m.Endpoint.ToString(), m.Org, m.PkiId, m.Height))],
                OrdererOf(channel),
                [
                    new("delivered", b.Delivered),
                    new("pullRepaired", b.PullRepaired),
                    new("gapRequests", b.GapRequests),
                    new("blocksServed", b.BlocksServed),
                    new("belowHeight", b.BelowHeight),
                ]));
        }

        lock (_gate)
        {
            foreach (var (channel, state) in _joinState.OrderBy(p => p.Key, StringComparer.Ordinal))
            {
                if (!joined.Contains(channel))
                {
                    channels.Add(new ChannelStatus(channel, state, 0, false, [], [], OrdererOf(channel), []));
                }
            }
        }

        return new RuntimeSnapshot(_node.OrgId, _node.Endpoint.ToString(), Convert.ToHexStringLower(_node.PkiId.Span), _node.IsRunning, members, counters, channels);
    }

    private string? OrdererOf(string channel) => _channels.FirstOrDefault(c => c.Name == channel)?.Orderer.ToString();

    private static string StateName(MemberState state) => state switch
    {
        MemberState.Alive => "alive",
        MemberState.Suspect => "suspect",
        MemberState.Dead => "dead",
        _ => state.ToString().ToLowerInvariant(),
    };

    public async ValueTask DisposeAsync()
    {
        await _stopJoining.CancelAsync();
        await Task.WhenAll(_joins);
        await _node.DisposeAsync();
        _stopJoining.Dispose();
    }
}
