using Engine.Node;
using Engine.Security;
using Engine.Transport;
using Engine.Transport.Memory;

namespace Engine.Tests.Security;

/// <summary>Signed <see cref="GossipNode"/>s on the in-memory network in virtual time, with in-memory org CAs.</summary>
internal sealed class SignedCluster : IAsyncDisposable
{
    public SignedCluster(params string[] orgs)
    {
        Network = new MemoryNetwork(NetworkPolicy.Perfect(), Time);
        Trust = new TrustStore(Time);
        foreach (string org in orgs.Length == 0 ? ["Org1", "Org2"] : orgs)
        {
            var ca = OrgCertificateAuthority.Create(org, Time);
            Cas[org] = ca;
            Trust.Add(org, ca.Certificate);
        }
    }

    public VirtualTimeProvider Time { get; } = new();

    public MemoryNetwork Network { get; }

    public TrustStore Trust { get; }

    public Dictionary<string, OrgCertificateAuthority> Cas { get; } = [];

    public List<GossipNode> Nodes { get; } = [];

    public List<PeerCredential> Credentials { get; } = [];

    public TimeSpan PublishCertPeriod { get; set; } = TimeSpan.FromSeconds(10);

    public static PeerEndpoint EndpointOf(int i) => PeerEndpoint.FromIPv4(0x0A00_0001u + (uint)i, 7051);

    public GossipNode Start(int bootstrap = -1, string org = "Org1", bool signed = true)
    {
        int i = Nodes.Count;
        var credential = Cas[org].IssuePeer($"peer{i}.{org}", Time);
        var options = Options(i, org);
        if (signed)
        {
            options.Credential = credential;
            options.TrustStore = Trust;
        }

        if (bootstrap >= 0)
        {
            options.BootstrapPeers.Add(EndpointOf(bootstrap));
        }

        var node = new GossipNode(options, Network.CreateTransport(EndpointOf(i)), new GossipNodeContext { Time = Time, Seed = 100 + i });
        node.StartAsync().AsTask().GetAwaiter().GetResult();
        Nodes.Add(node);
        Credentials.Add(credential);
        return node;
    }

    public GossipOptions Options(int i, string org) => new()
    {
        OrgId = org,
        Endpoint = EndpointOf(i),
        AliveTimeInterval = TimeSpan.FromMilliseconds(500),
        AliveExpirationTimeout = TimeSpan.FromSeconds(5),
        ReconnectInterval = TimeSpan.FromSeconds(2),
        BootstrapRetryInterval = TimeSpan.FromMilliseconds(500),
        PullInterval = TimeSpan.FromSeconds(1),
        DigestWaitTime = TimeSpan.FromMilliseconds(100),
        RequestWaitTime = TimeSpan.FromMilliseconds(300),
        ResponseWaitTime = TimeSpan.FromMilliseconds(200),
        PublishCertPeriod = PublishCertPeriod,
    };

    public void Run(TimeSpan duration)
    {
        var end = Time.GetUtcNow() + duration;
        while (Time.GetUtcNow() < end)
        {
            Time.Advance(TimeSpan.FromMilliseconds(50));
        }
    }

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

    public bool Converged() => Nodes.All(n => n.AliveCount == Nodes.Count - 1);

    public string Views() => string.Join("; ", Nodes.Select((n, i) => $"{i}: {n.AliveCount} alive"));

    public async ValueTask DisposeAsync()
    {
        foreach (var node in Nodes)
        {
            await node.StopAsync();
        }

        foreach (var credential in Credentials)
        {
            credential.Dispose();
        }

        foreach (var ca in Cas.Values)
        {
            ca.Dispose();
        }
    }
}
