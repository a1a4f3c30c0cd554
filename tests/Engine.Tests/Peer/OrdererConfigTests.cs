using Engine.Peer.Configuration;
using Engine.Peer.Ordering;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Peer;

public sealed class OrdererConfigTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-orderer-config-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Yaml(string text)
    {
        string path = Path.Combine(_dir, "orderer.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private IReadOnlyList<ConfigError> Errors(string text)
    {
        var e = Assert.Throws<ConfigException>(() => OrdererSettings.Load(Yaml(text)))!;
        Assert.That(e.Errors, Is.Not.Empty);
        return e.Errors;
    }

    [Test]
    public void AFullFile_IsRead()
    {
        var s = OrdererSettings.Load(Yaml("""
            orderer:
              id: ord1
              listenAddress: 127.0.0.1:0
              maxRetainedBlocks: 50
            channels:
              - name: mychannel
                blocksPerSecond: 2.5
                blockBytes: 4KiB
                orgs:
                  - name: Org1
                    anchorPeers: [127.0.0.1:7051, 127.0.0.1:7052]
                  - name: Org2
              - name: other
                orgs: [{name: Org3, anchorPeers: "127.0.0.1:9051"}]
            admin:
              listenAddress: 127.0.0.1:0
            log:
              level: debug
              format: json
            """));
        Assert.Multiple(() =>
        {
            Assert.That(s.OrdererId, Is.EqualTo("ord1"));
            Assert.That(s.ListenAddress, Is.EqualTo(PeerEndpoint.Loopback(0)));
            Assert.That(s.MaxRetainedBlocks, Is.EqualTo(50));
            Assert.That(s.Channels.Select(c => c.Name), Is.EqualTo((string[])["mychannel", "other"]));
            Assert.That(s.Channels[0].BlocksPerSecond, Is.EqualTo(2.5));
            Assert.That(s.Channels[0].BlockBytes, Is.EqualTo(4096));
            Assert.That(s.Channels[0].Orgs[0].Anchors, Is.EqualTo(new[] { PeerEndpoint.Loopback(7051), PeerEndpoint.Loopback(7052) }));
            Assert.That(s.Channels[0].Orgs[1].Anchors, Is.Empty);
            Assert.That(s.Channels[1].BlocksPerSecond, Is.Zero, "on demand by default");
            Assert.That(s.Channels[1].Orgs.Single().Anchors.Single(), Is.EqualTo(PeerEndpoint.Loopback(9051)));
            Assert.That(s.AdminListenAddress, Is.EqualTo(PeerEndpoint.Loopback(0)));
            Assert.That(s.LogLevel, Is.EqualTo(LogLevel.Debug));
            Assert.That(s.LogFormat, Is.EqualTo(LogFormat.Json));
        });
    }

    [Test]
    public void Defaults()
    {
        var s = OrdererSettings.Load(Yaml("channels:\n  - name: mychannel\n    orgs: [{name: Org1}]\n"));
        Assert.That(s.ListenAddress, Is.EqualTo(PeerEndpoint.Loopback(7050)));
        Assert.That(s.AdminListenAddress, Is.EqualTo(PeerEndpoint.Loopback(8443)));
        Assert.That(s.AdminEnabled, Is.True);
        Assert.That(s.OrdererId, Is.EqualTo("orderer0"));
        Assert.That(s.MaxRetainedBlocks, Is.EqualTo(1000));
        Assert.That(s.Channels.Single().BlockBytes, Is.EqualTo(1024));
    }

    [TestCase("orderer:\n  listenAdress: 127.0.0.1:7050\n", "orderer.listenAdress", "unknown key")]
    [TestCase("orderer:\n  listenAddress: nowhere\n", "orderer.listenAddress", "is not host:port")]
    [TestCase("admin:\n  listenAddress: 10.0.0.1:8443\n", "admin.listenAddress", "must be a loopback address")]
    [TestCase("log:\n  level: loud\n", "log.level", "is not one of")]
    [TestCase("channels:\n  - name: mychannel\n    blocksPerSecond: -1\n    orgs: [{name: Org1}]\n", "channels[0].blocksPerSecond", "0 (cut only on demand)")]
    [TestCase("channels:\n  - name: MyChannel\n    orgs: [{name: Org1}]\n", "channels[0].name", "is not a channel name")]
    [TestCase("channels:\n  - orgs: [{name: Org1}]\n", "channels[0].name", "is missing")]
    [TestCase("channels:\n  - name: mychannel\n", "channels[0].orgs", "has no org")]
    [TestCase("channels:\n  - name: mychannel\n    orgs: [{name: Org1, anchorPeers: [127.0.0.1]}]\n", "channels[0].orgs[0].anchorPeers[0]", "is not host:port")]
    [TestCase("channels:\n  - name: mychannel\n    orgs: [{name: Org1}, {name: Org1}]\n", "channels[0].orgs[1].name", "listed twice")]
    [TestCase("channels:\n  - name: a\n    orgs: [{name: Org1}]\n  - name: a\n    orgs: [{name: Org1}]\n", "channels[1].name", "listed twice")]
    [TestCase("channels:\n  - name: a\n    peers: 3\n    orgs: [{name: Org1}]\n", "channels[0].peers", "unknown key")]
    [TestCase("channels: mychannel\n", "channels", "expected a list of channels")]
    [TestCase("admin:\n  enabled: 1\n", "admin.enabled", "is not true or false")]
    public void BadValues_NameTheKeyAndLine(string yaml, string key, string expected)
    {
        var errors = Errors(yaml + (yaml.StartsWith("channels", StringComparison.Ordinal) ? "" : "channels: [{name: c, orgs: [{name: Org1}]}]\n"));
        Assert.That(errors, Has.Count.EqualTo(1), string.Join("; ", errors));
        Assert.That(errors[0].Key, Is.EqualTo(key));
        Assert.That(errors[0].Message, Does.Contain(expected));
        Assert.That(errors[0].Source, Does.Match(@"^orderer\.yaml:\d+:\d+$"));
    }

    [Test]
    public void NoChannel_IsAnError() =>
        Assert.That(Errors("orderer:\n  id: x\n").Single().Key, Is.EqualTo("channels"));
}
