using Engine.Membership;
using Engine.Node;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Discovery;

/// <summary>
/// Gossip nodes on an in-memory network driven by a virtual clock: deterministic for a seed, and minutes of protocol
/// time run in milliseconds. Node i listens on 10.0.0.(i+1):7051.
/// </summary>
internal sealed class DiscoveryHarness
{
    public DiscoveryHarness(int capacity, NetworkPolicy? policy = null, Action<GossipOptions>? configure = null)
    {
        Network = new MemoryNetwork(policy ?? NetworkPolicy.Perfect(), Time);
        Nodes = new GossipNode?[capacity];
        _configure = configure;
    }

    private readonly Action<GossipOptions>? _configure;
    private int _starts;

    public VirtualTimeProvider Time { get; } = new();

    public MemoryNetwork Network { get; }

    public CapturingLoggerFactory Logs { get; } = new();

    public GossipNode?[] Nodes { get; }

    /// <summary>Every membership change seen by each node: (observer, event, virtual time).</summary>
    public List<(int Observer, MembershipChangedEvent Change, DateTimeOffset At)> Changes { get; } = [];

    public static PeerEndpoint EndpointOf(int i) => PeerEndpoint.FromIPv4(0x0A00_0001u + (uint)i, 7051);

    public GossipOptions OptionsFor(int i, params int[] bootstrap)
    {
        var options = new GossipOptions { OrgId = "Org1", Endpoint = EndpointOf(i) };
        foreach (int b in bootstrap)
        {
            options.BootstrapPeers.Add(EndpointOf(b));
        }

        _configure?.Invoke(options);
        return options;
    }

    public GossipNode Start(int i, params int[] bootstrap) => Start(i, OptionsFor(i, bootstrap));

    public GossipNode Start(int i, GossipOptions options)
    {
        Assert.That(Nodes[i], Is.Null, $"node {i} is already running");
        var transport = Network.CreateTransport(EndpointOf(i));
        var node = new GossipNode(options, transport, new GossipNodeContext { Time = Time, Seed = 1000 * ++_starts + i, LoggerFactory = Logs });
        node.MembershipChanged += e => Changes.Add((i, e, Time.GetUtcNow()));
        node.StartAsync().AsTask().GetAwaiter().GetResult();
        Nodes[i] = node;
        return node;
    }

    public void Stop(int i)
    {
        Nodes[i]!.StopAsync().AsTask().GetAwaiter().GetResult();
        Nodes[i] = null;
    }

    public void Run(TimeSpan duration) => Time.Advance(duration);

    /// <summary>Advances virtual time in small steps until <paramref name="condition"/> holds; returns the virtual time it took.</summary>
    public TimeSpan RunUntil(Func<bool> condition, TimeSpan limit, string what)
    {
        var start = Time.GetUtcNow();
        var step = TimeSpan.FromMilliseconds(100);
        while (!condition())
        {
            var elapsed = Time.GetUtcNow() - start;
            if (elapsed >= limit)
            {
                Assert.Fail($"{what}: not reached within {limit} of virtual time.\n{Describe()}");
            }

            Time.Advance(step);
        }

        return Time.GetUtcNow() - start;
    }

    public HashSet<PeerEndpoint> Alive(int i) => Nodes[i]!.GetMembership().Alive.Select(p => p.Endpoint).ToHashSet();

    public HashSet<PeerEndpoint> Dead(int i) => Nodes[i]!.GetMembership().Dead.Select(p => p.Endpoint).ToHashSet();

    /// <summary>True when every running node in <paramref name="group"/> sees exactly the others of the group alive.</summary>
    public bool SeesExactly(IEnumerable<int> observers, IEnumerable<int> alive)
    {
        var expected = alive.ToList();
        foreach (int o in observers)
        {
            var want = expected.Where(a => a != o).Select(EndpointOf).ToHashSet();
            if (!Alive(o).SetEquals(want))
            {
                return false;
            }
        }

        return true;
    }

    public bool SeesDead(IEnumerable<int> observers, IEnumerable<int> dead)
    {
        var want = dead.Select(EndpointOf).ToHashSet();
        return observers.All(o => want.IsSubsetOf(Dead(o)));
    }

    public IEnumerable<int> Running => Enumerable.Range(0, Nodes.Length).Where(i => Nodes[i] is not null);

    public string Describe() => string.Join("\n", Running.Select(i =>
    {
        var view = Nodes[i]!.GetMembership();
        return $"  node {i} ({EndpointOf(i)}): alive [{string.Join(", ", view.Alive.Select(p => p.Endpoint))}] dead [{string.Join(", ", view.Dead.Select(p => p.Endpoint))}]";
    }));

    public int DiedEvents(int observer) => Changes.Count(c => c.Observer == observer && c.Change.State == MemberState.Dead);
}
