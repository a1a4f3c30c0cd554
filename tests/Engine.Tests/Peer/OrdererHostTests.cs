using Engine.Peer.Admin;
using Engine.Peer.Configuration;
using Engine.Peer.Hosting;
using Engine.Peer.Ordering;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Tests.Peer;

/// <summary>The orderer host and peer hosts in this process, on 127.0.0.1 with free ports: admin commands and channel joins.</summary>
[Category("Sockets")]
public sealed class OrdererHostTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(15);

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-orderer-host-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private async Task<OrdererHost> StartOrdererAsync(CancellationToken cancellationToken)
    {
        string path = Path.Combine(_dir, "orderer.yaml");
        await File.WriteAllTextAsync(path, """
            orderer: {listenAddress: "127.0.0.1:0"}
            channels:
              - name: mychannel
                orgs: [{name: Org1}, {name: Org2, anchorPeers: [127.0.0.1:9051]}]
            admin: {listenAddress: "127.0.0.1:0"}
            """, cancellationToken);
        var host = new OrdererHost(OrdererSettings.Load(path), NullLoggerFactory.Instance);
        await host.StartAsync(cancellationToken);
        return host;
    }

    [Test]
    [CancelAfter(20_000)]
    public async Task AdminPort_CutsBlocks_UpdatesAnchors_AndRefusesBadRequestsNamingWhatIsWrong(CancellationToken cancellationToken)
    {
        await using var orderer = await StartOrdererAsync(cancellationToken);
        var admin = orderer.AdminEndpoint!.Value;

        var cut = await AdminClient.SendAsync(admin, new AdminRequest(AdminProtocol.CutCommand, "mychannel"), cancellationToken);
        Assert.That(cut.Block, Is.EqualTo(1UL));
        var anchors = await AdminClient.SendAsync(admin, new AdminRequest(AdminProtocol.AnchorsCommand, "mychannel", "Org1", ["127.0.0.1:7051"]), cancellationToken);
        Assert.That(anchors.Block, Is.EqualTo(2UL));

        var status = (await AdminClient.SendAsync(admin, new AdminRequest(AdminProtocol.StatusCommand), cancellationToken)).Orderer!;
        var channel = status.Channels.Single();
        Assert.That(channel.Height, Is.EqualTo(3UL));
        Assert.That(channel.Orgs.Select(o => (o.Org, string.Join(' ', o.AnchorPeers))), Is.EqualTo(new[] { ("Org1", "127.0.0.1:7051"), ("Org2", "127.0.0.1:9051") }));
        Assert.That(status.Counters.Single(c => c.Name == "blocksCut").Value, Is.EqualTo(3));

        (AdminRequest Request, string Expected)[] bad =
        [
            (new(AdminProtocol.CutCommand, "nochannel"), "this orderer serves no channel 'nochannel'; it serves mychannel"),
            (new(AdminProtocol.CutCommand), "no \"channel\""),
            (new(AdminProtocol.CutCommand, "mychannel", Bytes: -1), "bytes must be between 0 and"),
            (new(AdminProtocol.AnchorsCommand, "mychannel", "Org3"), "channel mychannel has no org 'Org3'; its orgs: Org1, Org2"),
            (new(AdminProtocol.AnchorsCommand, "mychannel", "Org1", ["nowhere"]), "anchor peer 'nowhere' is not host:port"),
            (new("reboot"), "unknown command 'reboot'; commands: status, cut, anchors"),
        ];
        foreach (var (request, expected) in bad)
        {
            var e = Assert.ThrowsAsync<AdminException>(() => AdminClient.SendAsync(admin, request, cancellationToken));
            Assert.That(e!.Message, Does.Contain(expected));
        }

        Assert.That(orderer.GetStatus().Channels.Single().Height, Is.EqualTo(3UL), "a refused request cuts nothing");
    }

    [Test]
    [CancelAfter(30_000)]
    public async Task Peers_JoinFromTheOrderersGenesis_AStaticLeaderOpensTheOnlyStream_AndAnUnknownChannelWaits(CancellationToken cancellationToken)
    {
        using var loggerFactory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Warning));
        await using var orderer = await StartOrdererAsync(cancellationToken);
        string ep = orderer.Endpoint.ToString();

        // A static leader of Org1 (Fabric's orgLeader) joins mychannel and waits for a channel the orderer does not serve.
        var settings = PeerConfigLoader.Load(null, null,
            [.. PeerHostTests.FastLoopback, "peer.id=leader", $"peer.channels=mychannel@{ep} nochannel@{ep}", "gossip.useLeaderElection=false", "gossip.orgLeader=true"]);
        await using var leader = new PeerHost(settings, new GossipNodeRuntime(settings.Gossip, loggerFactory, settings.Channels, settings.PeerId), loggerFactory);
        await leader.StartAsync(cancellationToken);

        var deadline = DateTime.UtcNow + Deadline;
        PeerStatus status;
        while (true)
        {
            status = await AdminClient.GetStatusAsync(leader.AdminEndpoint!.Value, cancellationToken);
            if (status.Channels!.Any(c => c.Channel == "mychannel" && c.IsLeader) && orderer.GetStatus().Channels.Single().Streams.Count == 1)
            {
                break;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"not joined and leading: {string.Join("; ", status.Channels!)}");
            await Task.Delay(50, cancellationToken); // polling interval, not a wait for an outcome
        }

        var joined = status.Channels!.Single(c => c.Channel == "mychannel");
        Assert.That(joined.State, Is.EqualTo("joined"));
        Assert.That(joined.Height, Is.EqualTo(1UL), "block #0 from the orderer");
        Assert.That(joined.Leaders, Is.EqualTo(new[] { status.Endpoint }));
        Assert.That(joined.Orderer, Is.EqualTo(ep));
        var waiting = status.Channels!.Single(c => c.Channel == "nochannel");
        Assert.That(waiting.State, Does.StartWith($"joining: waiting for the genesis block from the orderer {ep}"));
        Assert.That(orderer.GetStatus().Channels.Single().Streams.Single(), Is.EqualTo(new OrdererStreamStatus(status.Endpoint, "Org1")));

        // Stopping the peer ends the wait for the unknown channel too.
        await leader.StopAsync("test");
    }
}
