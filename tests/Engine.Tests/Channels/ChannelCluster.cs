using System.Collections.Concurrent;
using Engine.Channels;
using Engine.Ledger;
using Engine.Node;
using Engine.Ordering;
using Engine.Tests.Discovery;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Channels;

/// <summary>
/// Whole <see cref="GossipNode"/>s of several orgs and an <see cref="Orderer"/> on the in-memory network, in virtual
/// time, with scaled-down timings (alive 0.5 s, election thresholds 2 s / 1 s). Peer i of org o is at 10.0.o.(i+1):7051
/// with the PKI-ID [o, i] (so peer0 has the lowest PKI-ID of its org).
/// </summary>
internal sealed class ChannelCluster : IAsyncDisposable
{
    public const string Channel = "mychannel";

    private readonly Action<GossipOptions>? _configure;

    public ChannelCluster(int orgs, NetworkPolicy? policy = null, Action<GossipOptions>? configure = null, bool anchorsInGenesis = false)
    {
        _configure = configure;
        var p = policy ?? NetworkPolicy.Perfect(7);
        if (p.Delay == TimeSpan.Zero)
        {
            p.Delay = TimeSpan.FromMilliseconds(1);
        }

        Network = new MemoryNetwork(p, Time);
        Orderer = new Orderer(Network.CreateTransport(OrdererEndpoint), new OrdererOptions(), Time, Loggers.CreateLogger("Orderer"))
        {
            BlockDelivered = (channel, block, peer) => Deliveries.Enqueue((block, peer)),
        };
        Orderer.StartAsync().AsTask().GetAwaiter().GetResult();
        Orgs = Enumerable.Range(1, orgs).Select(o => $"Org{o}").ToArray();
        Genesis = Orderer.CreateChannel(new ChannelConfiguration(Channel, Orgs.Select(o => new OrgAnchors(o, anchorsInGenesis ? [EndpointOf(o, 0)] : []))));
    }

    public static readonly PeerEndpoint OrdererEndpoint = PeerEndpoint.FromIPv4(0x0A00_0001u, 7050);

    public VirtualTimeProvider Time { get; } = new();

    public MemoryNetwork Network { get; }

    public Orderer Orderer { get; }

    public CapturingLoggerFactory Loggers { get; } = new();

    public string[] Orgs { get; }

    public byte[] Genesis { get; }

    public ConcurrentQueue<(ulong Block, PeerEndpoint Peer)> Deliveries { get; } = new();

    public List<Peer> Peers { get; } = [];

    public static PeerEndpoint EndpointOf(int org, int index) => PeerEndpoint.FromIPv4(0x0A00_0000u + ((uint)org << 8) + (uint)index + 1, 7051);

    public static PeerEndpoint EndpointOf(string org, int index) => EndpointOf(int.Parse(org.AsSpan(3)), index);

    /// <summary>Starts peer <paramref name="index"/> of org <paramref name="org"/> (1-based org), with the given bootstrap peers of its org.</summary>
    public Peer Start(int org, int index, int[]? bootstrap = null, Action<GossipOptions>? configure = null, bool external = true,
        Func<MemoryTransport, ITransport>? transport = null)
    {
        var endpoint = EndpointOf(org, index);
        var options = new GossipOptions
        {
            OrgId = $"Org{org}",
            Endpoint = endpoint,
            ExternalEndpoint = external ? endpoint : default,
            PkiId = [(byte)org, (byte)index],
            AliveTimeInterval = TimeSpan.FromMilliseconds(500),
            AliveExpirationTimeout = TimeSpan.FromSeconds(5),
            ReconnectInterval = TimeSpan.FromSeconds(2),
            BootstrapRetryInterval = TimeSpan.FromMilliseconds(500),
            PullInterval = TimeSpan.FromSeconds(1),
            DigestWaitTime = TimeSpan.FromMilliseconds(100),
            RequestWaitTime = TimeSpan.FromMilliseconds(300),
            ResponseWaitTime = TimeSpan.FromMilliseconds(200),
            PublishStateInfoInterval = TimeSpan.FromMilliseconds(500),
            RequestStateInfoInterval = TimeSpan.FromMilliseconds(500),
            OrdererRetryInterval = TimeSpan.FromMilliseconds(200),
        };
        options.Election.StartupGracePeriod = TimeSpan.FromSeconds(3);
        options.Election.MembershipSampleInterval = TimeSpan.FromMilliseconds(250);
        options.Election.LeaderAliveThreshold = TimeSpan.FromSeconds(2);
        options.Election.LeaderElectionDuration = TimeSpan.FromSeconds(1);
        foreach (int b in bootstrap ?? [])
        {
            options.BootstrapPeers.Add(EndpointOf(org, b));
        }

        _configure?.Invoke(options);
        configure?.Invoke(options);
        var memory = Network.CreateTransport(endpoint);
        var node = new GossipNode(options, transport?.Invoke(memory) ?? memory, new GossipNodeContext { Time = Time, Seed = (org * 100) + index, LoggerFactory = Loggers });
        var peer = new Peer($"peer{index}.org{org}", options.OrgId, node);
        node.BlockCommitted += e => peer.Commits.Enqueue((e.Number, Time.GetUtcNow()));
        node.StartAsync().AsTask().GetAwaiter().GetResult();
        Peers.Add(peer);
        return peer;
    }

    /// <summary>Stops <paramref name="peer"/> (its ledger is gone with it) and starts a new node in its place: same endpoint and PKI-ID, a newer incarnation, an empty ledger.</summary>
    public Peer Restart(Peer peer, int org, int index, int[]? bootstrap = null, Action<GossipOptions>? configure = null)
    {
        peer.Node.StopAsync().AsTask().GetAwaiter().GetResult();
        Peers.Remove(peer);
        return Start(org, index, bootstrap, configure);
    }

    public Peer P(int org, int index) => Peers.Single(p => p.Name == $"peer{index}.org{org}");

    public void Join(Peer peer) => peer.Node.JoinChannel(Genesis, OrdererEndpoint);

    public void Run(TimeSpan duration)
    {
        var step = TimeSpan.FromMilliseconds(50);
        for (var t = TimeSpan.Zero; t < duration; t += step)
        {
            Time.Advance(step);
        }
    }

    /// <summary>Advances virtual time in 50 ms steps until <paramref name="condition"/> holds; fails past <paramref name="limit"/>.</summary>
    public TimeSpan RunUntil(Func<bool> condition, TimeSpan limit, Func<string> what)
    {
        var start = Time.GetUtcNow();
        while (!condition())
        {
            if (Time.GetUtcNow() - start >= limit)
            {
                Assert.Fail($"not within {limit} of virtual time: {what()}");
            }

            Time.Advance(TimeSpan.FromMilliseconds(50));
        }

        return Time.GetUtcNow() - start;
    }

    /// <summary>The running peers of <paramref name="org"/> that lead the channel, by their own state.</summary>
    public string[] Leaders(string org) => Peers.Where(p => p.Org == org && p.Node.IsRunning && p.Node.IsLeader(Channel)).Select(p => p.Name).ToArray();

    public string Describe() => string.Join("; ", Peers.Where(p => p.Node.IsRunning).Select(p =>
    {
        var view = p.Node.GetChannelView(Channel);
        return $"{p.Name}: leader={view.IsLeader} h={view.Height} view=[{string.Join(",", view.Members.Select(m => m.Endpoint))}] alive={p.Node.AliveCount}";
    }));

    public async ValueTask DisposeAsync()
    {
        foreach (var peer in Peers)
        {
            await peer.Node.StopAsync();
        }

        await Orderer.DisposeAsync();
        Loggers.Dispose();
    }

    internal sealed class Peer(string name, string org, GossipNode node)
    {
        public string Name { get; } = name;

        public string Org { get; } = org;

        public GossipNode Node { get; } = node;

        public ConcurrentQueue<(ulong Number, DateTimeOffset At)> Commits { get; } = new();

        public PeerEndpoint Endpoint => Node.Endpoint;
    }
}
