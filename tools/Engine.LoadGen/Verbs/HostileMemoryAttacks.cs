using System.Buffers;
using Engine.Node;
using Engine.Security;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// The message attacks, on the in-memory network in virtual time: 10 signed peers (8 of Org1, 2 of Org2; channel
/// <c>ch1</c> is Org1's) and an attacker on endpoints of its own. Each attack's messages are delivered with the clock held
/// still (no heartbeat or timer of an honest peer runs meanwhile), so the counters that move and any change of a view are
/// the attack's alone.
/// </summary>
internal sealed class HostileMemoryAttacks : IAsyncDisposable
{
    private static readonly PeerEndpoint AttackerEndpoint = PeerEndpoint.Loopback(9_001);
    private static readonly PeerEndpoint FakeBootstrapEndpoint = PeerEndpoint.Loopback(9_002);
    private static readonly PeerEndpoint OrdererEndpoint = PeerEndpoint.Loopback(9_003);

    private readonly HostileMaterial _material;
    private readonly VirtualTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly MemoryNetwork _network;
    private readonly List<GossipNode> _nodes = [];
    private MemoryTransport? _attacker;
    private MemoryTransport? _fakeBootstrap;
    private Engine.Ordering.Orderer? _orderer;

    public HostileMemoryAttacks(HostileMaterial material)
    {
        _material = material;
        _network = new MemoryNetwork(NetworkPolicy.Perfect(), _time);
    }

    public static PeerEndpoint EndpointOf(int i) => PeerEndpoint.Loopback(checked((ushort)(MemoryNetwork.AutoPort + i)));

    public IReadOnlyList<GossipNode> Nodes => _nodes;

    /// <summary>
    /// Starts the orderer and the peers (each bootstraps to the first peer of its org; peer 0 lists the attacker's fake
    /// bootstrap endpoint), joins them to the channels (<see cref="HostileChannels"/>: the orgs meet through ch0's
    /// anchors) and waits until every view is complete.
    /// </summary>
    public async Task<bool> StartAsync(CancellationToken cancellationToken)
    {
        var trust = _material.Trust(_time);
        _orderer = new Engine.Ordering.Orderer(_network.CreateTransport(OrdererEndpoint), new Engine.Ordering.OrdererOptions(), _time);
        await _orderer.StartAsync(cancellationToken);
        var channels = new HostileChannels(_orderer, OrdererEndpoint, [.. Enumerable.Range(0, _material.Members.Count).Select(EndpointOf)],
            [.. _material.Members.Select(m => m.OrgId)]);
        for (int i = 0; i < _material.Members.Count; i++)
        {
            var credential = _material.Members[i];
            var options = new GossipOptions
            {
                OrgId = credential.OrgId,
                Endpoint = EndpointOf(i),
                Credential = credential,
                TrustStore = trust,
                AliveTimeInterval = TimeSpan.FromSeconds(1),
                AliveExpirationTimeout = TimeSpan.FromSeconds(5),
                ReconnectInterval = TimeSpan.FromSeconds(5),
                BootstrapRetryInterval = TimeSpan.FromSeconds(1),
                PullInterval = TimeSpan.FromSeconds(2),
            };
            channels.Configure(options, i);
            if (i == 0)
            {
                options.BootstrapPeers.Add(FakeBootstrapEndpoint);
            }

            var node = new GossipNode(options, _network.CreateTransport(EndpointOf(i)), new GossipNodeContext { Time = _time, Seed = 600 + i });
            await node.StartAsync(cancellationToken);
            _nodes.Add(node);
        }

        for (int i = 0; i < _nodes.Count; i++)
        {
            channels.Join(_nodes[i], i);
        }

        _attacker = _network.CreateTransport(AttackerEndpoint);
        _fakeBootstrap = _network.CreateTransport(FakeBootstrapEndpoint);
        await _attacker.StartAsync(new Sink(), cancellationToken);
        await _fakeBootstrap.StartAsync(new Sink(), cancellationToken);
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(60);
        while (_nodes.Any(n => n.AliveCount != _nodes.Count - 1))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (_time.GetUtcNow() >= deadline)
            {
                return false;
            }

            _time.Advance(TimeSpan.FromMilliseconds(100));
        }

        _time.Advance(TimeSpan.FromSeconds(3)); // settle: every identity known, every envelope kept
        return true;
    }

    /// <summary>Runs every message attack; each returns its counts.</summary>
    public List<AttackResult> Run(int rounds)
    {
        var m = _material;
        var results = new List<AttackResult>
        {
            Attack("unknown_org", "alive messages and membership requests signed by a peer of an org no peer trusts (Org3)", rounds, (to, round) =>
            {
                var alive = HostileMessages.Alive(m.UnknownOrg, m.UnknownOrg.PkiId.ToArray(), AttackerEndpoint, 1, (ulong)round + 1, withIdentity: true);
                return [Datagram(to, alive), Frame(to, HostileMessages.MembershipRequest(alive))];
            }),
            Attack("untrusted_ca", "alive messages signed by a certificate of a rogue CA that claims to be Org1", rounds, (to, round) =>
            {
                var alive = HostileMessages.Alive(m.RogueCa, m.RogueCa.PkiId.ToArray(), AttackerEndpoint, 1, (ulong)round + 1, withIdentity: true);
                return [Datagram(to, alive), Frame(to, HostileMessages.MembershipRequest(alive))];
            }),
            Attack("foreign_bootstrap", "membership responses from peer 0's bootstrap endpoint, answered by a peer of another org (Org2) with fake members", rounds, (to, round) =>
            {
                if (to != 0)
                {
                    return [];
                }

                var self = HostileMessages.Alive(m.OtherOrg, m.OtherOrg.PkiId.ToArray(), FakeBootstrapEndpoint, 1, (ulong)round + 1, withIdentity: true);
                var fake = HostileMessages.Alive(m.UnknownOrg, m.UnknownOrg.PkiId.ToArray(), AttackerEndpoint, 1, (ulong)round + 1, withIdentity: true);
                return [_fakeBootstrap!.SendFrame(EndpointOf(0), HostileMessages.MembershipResponse([self, fake]))];
            }),
            Attack("forged_alive", "alive messages claiming an honest peer's PKI-ID (newer PeerTime, the attacker's endpoint) signed with another key", rounds, (to, round) =>
            {
                int victim = (to + 1) % _nodes.Count;
                var held = Held(to, victim);
                var forged = HostileMessages.Alive(m.Insider, _nodes[victim].PkiId.Span, AttackerEndpoint, held.IncNum, held.SeqNum + 1000, withIdentity: false);
                return [Datagram(to, forged)];
            }),
            Attack("replayed_alive", "genuine alive messages of an honest peer (its own signature) whose PeerTime is not newer than what is held", rounds, (to, round) =>
            {
                int victim = (to + 1) % _nodes.Count;
                var held = Held(to, victim);
                var replay = HostileMessages.Alive(m.Members[victim], _nodes[victim].PkiId.Span, _nodes[victim].Endpoint, held.IncNum, held.SeqNum - (ulong)(round % 2), withIdentity: false);
                return [Datagram(to, replay)];
            }),
            Attack("leadership_non_member", "leadership declarations for channel ch1 signed by an Org2 member (leadership is decided among Org1's peers)", rounds, (to, round) =>
                [Frame(to, HostileMessages.Leadership(m.Members[HostileMaterial.Org1Members], (ulong)round + 1)),
                 Datagram(to, HostileMessages.Leadership(m.Members[HostileMaterial.Org1Members + 1], (ulong)round + 1))]),
            Attack("state_info_foreign_channel", "state info for channel ch1 (Org1's) signed by an Org2 member, which is not in it", rounds, (to, round) =>
                [Frame(to, HostileMessages.StateInfo(m.Members[HostileMaterial.Org1Members], (ulong)round + 1)),
                 Datagram(to, HostileMessages.StateInfo(m.Members[HostileMaterial.Org1Members + 1], (ulong)round + 1))]),
        };

        // Afterwards the network runs on: the attacks leave nothing behind that a later heartbeat or sync would act on.
        string before = ViewSnapshot.Of(_nodes, withTime: false);
        _time.Advance(TimeSpan.FromSeconds(10));
        string after = ViewSnapshot.Of(_nodes, withTime: false);
        bool changed = after != before || _nodes.Any(n => n.AliveCount != _nodes.Count - 1);
        if (changed)
        {
            // What changed, for whoever reads the run's log: the snapshot lines that differ, and the alive counts.
            var was = before.Split('\n');
            var now = after.Split('\n');
            for (int i = 0; i < Math.Max(was.Length, now.Length); i++)
            {
                string a = i < was.Length ? was[i] : "(none)", b = i < now.Length ? now[i] : "(none)";
                if (a != b)
                {
                    Console.Error.WriteLine($"aftermath: before: {a}\naftermath: after:  {b}");
                }
            }

            Console.Error.WriteLine($"aftermath: alive counts {string.Join(", ", _nodes.Select(n => n.AliveCount))} (expected {_nodes.Count - 1} each)");
        }

        results.Add(new AttackResult("aftermath", "memory", 0, 0, changed, "10 s of network time after the attacks: every view still exactly the 10 honest peers"));
        return results;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var node in _nodes)
        {
            await node.StopAsync();
        }

        if (_attacker is not null)
        {
            await _attacker.DisposeAsync();
        }

        if (_fakeBootstrap is not null)
        {
            await _fakeBootstrap.DisposeAsync();
        }

        if (_orderer is not null)
        {
            await _orderer.DisposeAsync();
        }
    }

    private Engine.Membership.PeerTime Held(int at, int about)
    {
        string id = Convert.ToHexStringLower(_nodes[about].PkiId.Span);
        return _nodes[at].GetMembership().Alive.Single(p => p.PkiId == id).Time;
    }

    private SendStatus Datagram(int to, byte[] envelope) => _attacker!.SendDatagram(EndpointOf(to), HostileMessages.Datagram(envelope));

    private SendStatus Frame(int to, byte[] envelope) => _attacker!.SendFrame(EndpointOf(to), envelope);

    /// <summary>Sends each round's messages to every peer, delivers them with the clock held still, and counts.</summary>
    private AttackResult Attack(string name, string how, int rounds, Func<int, int, SendStatus[]> send)
    {
        string before = ViewSnapshot.Of(_nodes, withTime: true);
        long refusedBefore = Refusals();
        long attempts = 0;
        for (int round = 0; round < rounds; round++)
        {
            for (int to = 0; to < _nodes.Count; to++)
            {
                attempts += send(to, round).Count(s => s == SendStatus.Sent);
            }

            _time.Advance(TimeSpan.Zero); // deliver what is due now, and nothing else
        }

        bool changed = ViewSnapshot.Of(_nodes, withTime: true) != before;
        return new AttackResult(name, "memory", attempts, Refusals() - refusedBefore, changed, how);
    }

    /// <summary>
    /// Every refusal the peers counted: signatures and identities, channel membership, foreign bootstrap, stale (replayed)
    /// alive messages, peers of an org that shares no channel with the receiver (refused by discovery before any
    /// signature is checked), and channel messages for a channel the receiver is not in (dropped by the channel layer).
    /// </summary>
    private long Refusals()
    {
        long total = 0;
        foreach (var node in _nodes)
        {
            var security = node.Security!;
            total += security.Verifier.Counters.Refused + Volatile.Read(ref security.Counters.NotMember) + Volatile.Read(ref security.Counters.OrgMismatch)
                + Volatile.Read(ref security.Counters.ForeignBootstrap) + node.GetStatistics().AliveStale + node.Discovery!.OtherOrgRefused
                + (node.ChannelLayer?.Dropped ?? 0);
        }

        return total;
    }

    private sealed class Sink : ITransportHandler
    {
        public void OnDatagram(PeerEndpoint source, ReadOnlySpan<byte> payload)
        {
        }

        public void OnFrame(PeerEndpoint source, in ReadOnlySequence<byte> payload)
        {
        }

        public void OnConnectionLost(PeerEndpoint peer, string reason)
        {
        }
    }
}
