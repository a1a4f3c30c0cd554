using System.Collections;
using Engine.Node;
using Engine.Peer.Configuration;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Tests.Peer;

public sealed class PeerConfigTests
{
    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-peer-config-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    private string Yaml(string text)
    {
        string path = Path.Combine(_dir, "peer.yaml");
        File.WriteAllText(path, text);
        return path;
    }

    private static PeerSettings Load(string? path, IDictionary? env = null, params string[] sets) =>
        PeerConfigLoader.Load(path, env, sets);

    private static IReadOnlyList<ConfigError> Errors(string? path, IDictionary? env = null, params string[] sets)
    {
        var e = Assert.Throws<ConfigException>(() => PeerConfigLoader.Load(path, env, sets))!;
        Assert.That(e.Errors, Is.Not.Empty);
        return e.Errors;
    }

    [Test]
    public void NoFile_GivesTheLibraryAndFabricDefaults()
    {
        var s = Load(null);
        var d = new GossipOptions();
        Assert.Multiple(() =>
        {
            Assert.That(s.Gossip.AliveTimeInterval, Is.EqualTo(TimeSpan.FromSeconds(5)).And.EqualTo(d.AliveTimeInterval));
            Assert.That(s.Gossip.AliveExpirationTimeout, Is.EqualTo(TimeSpan.FromSeconds(25)));
            Assert.That(s.Gossip.PullInterval, Is.EqualTo(TimeSpan.FromSeconds(4)));
            Assert.That(s.Gossip.PropagatePeerNum, Is.EqualTo(3));
            Assert.That(s.Gossip.MaxPropagationBurstLatency, Is.EqualTo(TimeSpan.FromMilliseconds(10)));
            Assert.That(s.Gossip.RequestWaitTime, Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
            Assert.That(s.Gossip.Transport.ConnectTimeout, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(s.Gossip.Transport.CompressionThreshold, Is.EqualTo(4096));
            Assert.That(s.Gossip.Transport.MaxFramePayload, Is.EqualTo(16 * 1024 * 1024));
            Assert.That(s.Gossip.Endpoint, Is.EqualTo(PeerEndpoint.Loopback(7051)));
            Assert.That(s.Gossip.Transport.ListenEndpoint, Is.EqualTo(PeerEndpoint.Loopback(7051)), "listen address follows gossip.endpoint");
            Assert.That(s.Gossip.BootstrapPeers, Is.Empty);
            Assert.That(s.UseLeaderElection, Is.True);
            Assert.That(s.OrgLeader, Is.False);
            Assert.That(s.ElectionStartupGracePeriod, Is.EqualTo(TimeSpan.FromSeconds(15)));
            Assert.That(s.AdminEnabled, Is.True);
            Assert.That(s.AdminListenAddress, Is.EqualTo(PeerEndpoint.Loopback(9443)));
            Assert.That(s.LogLevel, Is.EqualTo(LogLevel.Information));
            Assert.That(s.LogFormat, Is.EqualTo(LogFormat.Simple));
            Assert.That(s.Sources, Is.Empty);
        });
    }

    [Test]
    public void EveryKey_ItsDocumentedDefaultIsTheDefaultInEffect()
    {
        var fresh = new PeerSettings();
        foreach (var key in ConfigSchema.Keys)
        {
            var s = new PeerSettings();
            Assert.That(key.TryApply(ConfigValue.Text(key.DefaultText, "test"), s, out string? error), Is.True, $"{key.Path}: {error}");
            Assert.That(key.Read(s), Is.EqualTo(key.Read(fresh)), $"{key.Path}: documented default '{key.DefaultText}' differs from the code's");
        }
    }

    [Test]
    public void EveryKey_IsDocumentedInConfigurationMd_WithItsDefault()
    {
        string doc = File.ReadAllText(Path.Combine(RepoRoot(), "docs", "CONFIGURATION.md"));
        foreach (var key in ConfigSchema.Keys)
        {
            string row = doc.Split('\n').FirstOrDefault(l => l.StartsWith($"| `{key.Path}` |", StringComparison.Ordinal)) ?? "";
            Assert.That(row, Is.Not.Empty, $"{key.Path} has no row in docs/CONFIGURATION.md");
            string expected = key.DefaultText.Length == 0 ? "(empty)" : $"`{key.DefaultText}`";
            Assert.That(row, Does.Contain($"| {expected} |"), $"{key.Path}: the documented default is not {expected}");
        }
    }

    [Test]
    public void SamplePeerYaml_LoadsAndSetsTheBootstrap()
    {
        var s = Load(Path.Combine(RepoRoot(), "tools", "Engine.Peer", "peer.yaml"));
        Assert.That(s.Gossip.BootstrapPeers, Is.EqualTo(new[] { PeerEndpoint.Loopback(7052) }));
        Assert.That(s.Sources["gossip.aliveTimeInterval"], Does.StartWith("peer.yaml:"));
    }

    [Test]
    public void Yaml_EveryKindOfValue_IsParsed()
    {
        var s = Load(Yaml("""
            peer:
              id: alpha
              localMspId: Org2
              listenAddress: 0.0.0.0:7055
            gossip:
              bootstrap: 127.0.0.1:7052 127.0.0.1:7053,127.0.0.1:7054
              endpoint: 127.0.0.1:7055
              externalEndpoint: 127.0.0.1:8055
              aliveTimeInterval: 1m30s
              aliveExpirationTimeout: 2h
              maxPropagationBurstLatency: 250us
              requestWaitTime: 1.5s
              propagatePeerNum: 7
              useLeaderElection: false
              orgLeader: TRUE
              election:
                leaderAliveThreshold: 20s
            transport:
              maxFramePayload: 1MiB
              compressionThreshold: 0
              maxDatagramPayload: 1200
              udpReceiveThread: false
            admin:
              enabled: false
            log:
              level: debug
              format: json
            """));
        Assert.Multiple(() =>
        {
            Assert.That(s.PeerId, Is.EqualTo("alpha"));
            Assert.That(s.Gossip.OrgId, Is.EqualTo("Org2"));
            Assert.That(s.Gossip.Transport.ListenEndpoint, Is.EqualTo(PeerEndpoint.Parse("0.0.0.0:7055")));
            Assert.That(s.Gossip.BootstrapPeers, Is.EqualTo(new[] { PeerEndpoint.Loopback(7052), PeerEndpoint.Loopback(7053), PeerEndpoint.Loopback(7054) }));
            Assert.That(s.Gossip.Endpoint, Is.EqualTo(PeerEndpoint.Loopback(7055)));
            Assert.That(s.Gossip.ExternalEndpoint, Is.EqualTo(PeerEndpoint.Loopback(8055)));
            Assert.That(s.Gossip.AliveTimeInterval, Is.EqualTo(TimeSpan.FromSeconds(90)));
            Assert.That(s.Gossip.AliveExpirationTimeout, Is.EqualTo(TimeSpan.FromHours(2)));
            Assert.That(s.Gossip.MaxPropagationBurstLatency, Is.EqualTo(TimeSpan.FromMicroseconds(250)));
            Assert.That(s.Gossip.RequestWaitTime, Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
            Assert.That(s.Gossip.PropagatePeerNum, Is.EqualTo(7));
            Assert.That(s.UseLeaderElection, Is.False);
            Assert.That(s.OrgLeader, Is.True);
            Assert.That(s.ElectionLeaderAliveThreshold, Is.EqualTo(TimeSpan.FromSeconds(20)));
            Assert.That(s.Gossip.Transport.MaxFramePayload, Is.EqualTo(1024 * 1024));
            Assert.That(s.Gossip.Transport.CompressionThreshold, Is.Zero);
            Assert.That(s.Gossip.Transport.MaxDatagramPayload, Is.EqualTo(1200));
            Assert.That(s.Gossip.Transport.UdpReceiveThread, Is.False);
            Assert.That(s.AdminEnabled, Is.False);
            Assert.That(s.LogLevel, Is.EqualTo(LogLevel.Debug));
            Assert.That(s.LogFormat, Is.EqualTo(LogFormat.Json));
            Assert.That(s.Sources["gossip.propagatePeerNum"], Is.EqualTo("peer.yaml:13:21"));
        });
    }

    [Test]
    public void Yaml_BootstrapAsAList_IsParsed()
    {
        var s = Load(Yaml("gossip:\n  bootstrap:\n    - 127.0.0.1:7052\n    - 127.0.0.1:7053\n"));
        Assert.That(s.Gossip.BootstrapPeers, Is.EqualTo(new[] { PeerEndpoint.Loopback(7052), PeerEndpoint.Loopback(7053) }));
    }

    [Test]
    public void Yaml_KeysAreCaseInsensitive_AndReportedInTheirCanonicalSpelling()
    {
        var s = Load(Yaml("Gossip:\n  ALIVETIMEINTERVAL: 2s\n"));
        Assert.That(s.Gossip.AliveTimeInterval, Is.EqualTo(TimeSpan.FromSeconds(2)));
        Assert.That(s.Sources.Keys, Does.Contain("gossip.aliveTimeInterval"));
    }

    [Test]
    public void PortZero_IsAllowedWhereThePeerBinds_AndNowhereElse()
    {
        var s = Load(null, null, "gossip.endpoint=127.0.0.1:0", "admin.listenAddress=127.0.0.1:0");
        Assert.That(s.Gossip.Transport.ListenEndpoint, Is.EqualTo(PeerEndpoint.Loopback(0)));
        Assert.That(s.AdminListenAddress, Is.EqualTo(PeerEndpoint.Loopback(0)));
        Assert.That(Errors(null, null, "gossip.bootstrap=127.0.0.1:0").Single().Key, Is.EqualTo("gossip.bootstrap"));
        Assert.That(Errors(null, null, "gossip.externalEndpoint=127.0.0.1:0").Single().Key, Is.EqualTo("gossip.externalEndpoint"));
    }

    [Test]
    public void Yaml_EmptyFile_SetsNothing() => Assert.That(Load(Yaml("")).Sources, Is.Empty);

    [Test]
    public void Yaml_UnknownKey_ErrorNamesTheFullDottedPathAndLine()
    {
        var errors = Errors(Yaml("gossip:\n  aliveTimeInterval: 5s\n  election:\n    leaderAliveTreshold: 10s\n"));
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0].Key, Is.EqualTo("gossip.election.leaderAliveTreshold"));
        Assert.That(errors[0].Source, Is.EqualTo("peer.yaml:4:5"));
        Assert.That(errors[0].ToString(), Does.Contain("unknown key").And.Contain("did you mean gossip.election.leaderAliveThreshold?"));
    }

    [Test]
    public void Yaml_UnknownSection_And_KeyWithoutItsSection_AreErrors()
    {
        var errors = Errors(Yaml("aliveTimeInterval: 5s\nledger:\n  state: x\n"));
        Assert.That(errors.Select(e => e.Key).ToList(), Is.EqualTo((string[])["aliveTimeInterval", "ledger"]));
        Assert.That(errors[0].Message, Does.Contain("did you mean gossip.aliveTimeInterval?"));
    }

    [TestCase("5x", "unknown unit 'x'")]
    [TestCase("5", "has no unit")]
    [TestCase("fast", "is not a duration")]
    [TestCase("-1s", "must be positive")]
    [TestCase("0", "must be positive")]
    [TestCase("", "is empty")]
    public void Yaml_BadDuration_ErrorNamesTheKeyAndWhatIsWrong(string value, string expected)
    {
        var errors = Errors(Yaml($"gossip:\n  pullInterval: \"{value}\"\n"));
        Assert.That(errors, Has.Count.EqualTo(1));
        Assert.That(errors[0].Key, Is.EqualTo("gossip.pullInterval"));
        Assert.That(errors[0].Message, Does.Contain(expected));
        Assert.That(errors[0].ToString(), Does.StartWith("peer.yaml:2:17: gossip.pullInterval: "));
    }

    [TestCase("gossip.propagatePeerNum: 0", "gossip.propagatePeerNum", "must be between 1 and 1000, was 0")]
    [TestCase("gossip.propagatePeerNum: three", "gossip.propagatePeerNum", "'three' is not a whole number")]
    [TestCase("gossip.orgLeader: yes please", "gossip.orgLeader", "is not true or false")]
    [TestCase("gossip.endpoint: nowhere", "gossip.endpoint", "is not host:port")]
    [TestCase("gossip.endpoint: ''", "gossip.endpoint", "is empty")]
    [TestCase("gossip.bootstrap: 127.0.0.1:7052 127.0.0.1", "gossip.bootstrap", "'127.0.0.1' is not host:port")]
    [TestCase("transport.maxFramePayload: 16 parsecs", "transport.maxFramePayload", "is not a byte size")]
    [TestCase("transport.maxFramePayload: 100", "transport.maxFramePayload", "must be between 1024")]
    [TestCase("transport.maxDatagramPayload: 70000", "transport.maxDatagramPayload", "must be between 64")]
    [TestCase("log.level: loud", "log.level", "is not one of trace, debug")]
    [TestCase("peer.localMspId: ' '", "peer.localMspId", "must not be empty")]
    [TestCase("gossip.aliveTimeInterval: [1s, 2s]", "gossip.aliveTimeInterval", "expected a single value, found a list")]
    [TestCase("gossip.election: 5s", "gossip.election", "is a section")]
    [TestCase("gossip.pullInterval:\n    nested: 1s", "gossip.pullInterval", "found a section")]
    public void Yaml_BadValue_ErrorNamesTheKey(string line, string key, string expected)
    {
        // "a.b: v" is written as nested YAML.
        string[] path = line[..line.IndexOf(':', StringComparison.Ordinal)].Split('.');
        string value = line[(line.IndexOf(':', StringComparison.Ordinal) + 1)..];
        string yaml = path[0] + ":\n  " + string.Join(":\n    ", path[1..]) + ":" + value + "\n";
        var errors = Errors(Yaml(yaml));
        Assert.That(errors, Has.Count.EqualTo(1), string.Join("; ", errors));
        Assert.That(errors[0].Key, Is.EqualTo(key));
        Assert.That(errors[0].Message, Does.Contain(expected));
    }

    [Test]
    public void Yaml_NotYaml_IsAnErrorWithItsPosition()
    {
        var errors = Errors(Yaml("gossip:\n  aliveTimeInterval: [5s\n"));
        Assert.That(errors[0].Source, Does.StartWith("peer.yaml:"));
        Assert.That(errors[0].Message, Does.StartWith("not valid YAML"));
    }

    [Test]
    public void Yaml_MissingFile_IsAnError() =>
        Assert.That(Errors(Path.Combine(_dir, "nope.yaml"))[0].Message, Does.StartWith("cannot read the file"));

    [Test]
    public void Yaml_SeveralProblems_AreAllReported()
    {
        var errors = Errors(Yaml("gossip:\n  pullInterval: 4\n  pullPeerNum: -1\n  nope: 1\n"));
        Assert.That(errors.Select(e => e.Key).ToList(), Is.EquivalentTo((string[])["gossip.pullInterval", "gossip.pullPeerNum", "gossip.nope"]));
    }

    [Test]
    public void AliveExpirationNotAboveAliveInterval_IsAnErrorInConfigTerms()
    {
        var errors = Errors(Yaml("gossip:\n  aliveTimeInterval: 10s\n  aliveExpirationTimeout: 10s\n"));
        Assert.That(errors.Single().ToString(), Is.EqualTo(
            "peer.yaml:3:27: gossip.aliveExpirationTimeout: (10s) must be longer than gossip.aliveTimeInterval (10s), or every peer would expire between heartbeats"));
    }

    [Test]
    public void OrgLeaderWithLeaderElection_IsAnError_AsInFabric()
    {
        var errors = Errors(Yaml("gossip:\n  orgLeader: true\n"));
        Assert.That(errors.Single().Key, Is.EqualTo("gossip.orgLeader"));
        Assert.That(errors.Single().Message, Does.Contain("gossip.useLeaderElection"));
        Assert.That(Load(Yaml("gossip:\n  orgLeader: true\n  useLeaderElection: false\n")).OrgLeader, Is.True);
    }

    [TestCase("10.0.0.1:9443")]
    [TestCase("0.0.0.0:9443")]
    public void AdminOnANonLoopbackAddress_IsRefused(string address)
    {
        var error = Errors(Yaml($"admin:\n  listenAddress: {address}\n")).Single();
        Assert.That(error.Key, Is.EqualTo("admin.listenAddress"));
        Assert.That(error.Message, Does.Contain("must be a loopback address"));
        Assert.That(Load(Yaml($"admin:\n  enabled: false\n  listenAddress: {address}\n")).AdminEnabled, Is.False, "allowed when the port is off");
    }

    [Test]
    public void LibraryValidation_IsReportedUnderTheConfigKey()
    {
        var error = Errors(null, null, "transport.maxSendQueueBytes=1KiB").Single();
        Assert.That(error.Key, Is.EqualTo("transport.maxSendQueueBytes"));
        Assert.That(error.Source, Is.EqualTo("--set"));
        Assert.That(error.Message, Is.EqualTo("must be at least 64 KiB, was 1024"));
    }

    [Test]
    public void Precedence_FileThenEnvironmentThenSet()
    {
        string file = Yaml("gossip:\n  aliveTimeInterval: 4s\n  pullInterval: 3s\n  digestWaitTime: 2s\n");
        var env = new Hashtable
        {
            ["ENGINE_GOSSIP_ALIVETIMEINTERVAL"] = "3s",
            ["ENGINE_GOSSIP_PULLINTERVAL"] = "6s",
        };

        var s = Load(file, env, "gossip.aliveTimeInterval=2s");

        Assert.Multiple(() =>
        {
            Assert.That(s.Gossip.AliveTimeInterval, Is.EqualTo(TimeSpan.FromSeconds(2)), "--set beats env and file");
            Assert.That(s.Gossip.PullInterval, Is.EqualTo(TimeSpan.FromSeconds(6)), "env beats file");
            Assert.That(s.Gossip.DigestWaitTime, Is.EqualTo(TimeSpan.FromSeconds(2)), "file beats default");
            Assert.That(s.Sources["gossip.aliveTimeInterval"], Is.EqualTo("--set"));
            Assert.That(s.Sources["gossip.pullInterval"], Is.EqualTo("environment variable ENGINE_GOSSIP_PULLINTERVAL"));
            Assert.That(s.Sources["gossip.digestWaitTime"], Is.EqualTo("peer.yaml:4:19"));
        });
    }

    [Test]
    public void Set_LaterWins_AndNestedKeysWork()
    {
        var s = Load(null, null, "gossip.election.leaderElectionDuration=7s", "log.level=warning", "log.level=error", "gossip.bootstrap=127.0.0.1:1 127.0.0.1:2");
        Assert.That(s.ElectionLeaderElectionDuration, Is.EqualTo(TimeSpan.FromSeconds(7)));
        Assert.That(s.LogLevel, Is.EqualTo(LogLevel.Error));
        Assert.That(s.Gossip.BootstrapPeers, Has.Count.EqualTo(2));
    }

    [TestCase("gossip.aliveTimeInterval", "--set: gossip.aliveTimeInterval: expected key=value")]
    [TestCase("gossip.alive=2s", "--set: gossip.alive: unknown key")]
    [TestCase("gossip=2s", "--set: gossip: is a section")]
    [TestCase("gossip.aliveTimeInterval=2", "--set: gossip.aliveTimeInterval: '2' has no unit")]
    public void Set_BadInput_IsAnError(string set, string expected) =>
        Assert.That(Errors(null, null, set).Single().ToString(), Does.StartWith(expected));

    [Test]
    public void Environment_NestedKey_UnknownKey_AndOtherVariables()
    {
        var s = Load(null, new Hashtable
        {
            ["ENGINE_GOSSIP_ELECTION_STARTUPGRACEPERIOD"] = "30s",
            ["ENGINE_TRANSPORT_COMPRESSIONTHRESHOLD"] = "8KiB",
            ["ENGINE_GATE_INJECT"] = "alloc", // not a configuration section: ignored
            ["PATH"] = "/bin",
        });
        Assert.That(s.ElectionStartupGracePeriod, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(s.Gossip.Transport.CompressionThreshold, Is.EqualTo(8192));

        var error = Errors(null, new Hashtable { ["ENGINE_GOSSIP_ALIVETIMEINTERVL"] = "2s" }).Single();
        Assert.That(error.Source, Is.EqualTo("environment variable ENGINE_GOSSIP_ALIVETIMEINTERVL"));
        Assert.That(error.Message, Does.Contain("did you mean gossip.aliveTimeInterval?"));

        var bad = Errors(null, new Hashtable { ["ENGINE_GOSSIP_ALIVETIMEINTERVAL"] = "2 seconds" }).Single();
        Assert.That(bad.ToString(), Does.StartWith("environment variable ENGINE_GOSSIP_ALIVETIMEINTERVAL: gossip.aliveTimeInterval: "));
    }

    [Test]
    public void EnvironmentVariableName_FollowsThePath()
    {
        Assert.That(ConfigSchema.Find("gossip.election.leaderAliveThreshold")!.EnvironmentVariable,
            Is.EqualTo("ENGINE_GOSSIP_ELECTION_LEADERALIVETHRESHOLD"));
        foreach (var key in ConfigSchema.Keys)
        {
            var s = Load(null, new Hashtable { [key.EnvironmentVariable] = key.DefaultText });
            Assert.That(s.Sources.Keys, Does.Contain(key.Path), $"{key.EnvironmentVariable} does not set {key.Path}");
        }
    }

    [TestCase("1m30s", 90_000.0)]
    [TestCase("1.5s", 1_500.0)]
    [TestCase("10ms", 10.0)]
    [TestCase("250us", 0.25)]
    [TestCase("1h", 3_600_000.0)]
    [TestCase("0", 0.0)]
    public void Duration_GoSyntax(string text, double milliseconds)
    {
        Assert.That(ConfigValueParsers.TryParseDuration(text, out var d, out string? error), Is.True, error);
        Assert.That(d.TotalMilliseconds, Is.EqualTo(milliseconds));
        Assert.That(ConfigValueParsers.TryParseDuration(ConfigValueParsers.FormatDuration(d), out var back, out _), Is.True);
        Assert.That(back, Is.EqualTo(d), "format round-trips");
    }

    [Test]
    public void Channels_AsYamlMappings_AsTextItems_AndFromSetAndEnvironment()
    {
        var s = Load(Yaml("""
            peer:
              channels:
                - name: mychannel
                  orderer: 127.0.0.1:7050
                - {Name: other.chan-2, ORDERER: "127.0.0.1:7060"}
                - third@127.0.0.1:7070
            """));
        Assert.That(s.Channels, Is.EqualTo(new[]
        {
            new PeerChannel("mychannel", PeerEndpoint.Loopback(7050)),
            new PeerChannel("other.chan-2", PeerEndpoint.Loopback(7060)),
            new PeerChannel("third", PeerEndpoint.Loopback(7070)),
        }));
        Assert.That(ConfigSchema.Find("peer.channels")!.Read(s), Is.EqualTo("mychannel@127.0.0.1:7050 other.chan-2@127.0.0.1:7060 third@127.0.0.1:7070"));

        var set = Load(null, null, "peer.channels=a@127.0.0.1:7050, b@127.0.0.1:7051");
        Assert.That(set.Channels.Select(c => c.Name), Is.EqualTo((string[])["a", "b"]));
        var env = Load(null, new Hashtable { ["ENGINE_PEER_CHANNELS"] = "mychannel@127.0.0.1:7050" });
        Assert.That(env.Channels.Single(), Is.EqualTo(new PeerChannel("mychannel", PeerEndpoint.Loopback(7050))));
        Assert.That(Load(null).Channels, Is.Empty, "no channel by default");
    }

    [TestCase("- mychannel", "peer.channels", "expected NAME@HOST:PORT")]
    [TestCase("- MyChannel@127.0.0.1:7050", "peer.channels", "is not a channel name")]
    [TestCase("- 1chan@127.0.0.1:7050", "peer.channels", "is not a channel name")]
    [TestCase("- mychannel@nowhere", "peer.channels", "orderer: 'nowhere' is not host:port")]
    [TestCase("- mychannel@127.0.0.1:0", "peer.channels", "orderer:")]
    [TestCase("- a@127.0.0.1:7050\n    - a@127.0.0.1:7051", "peer.channels", "channel a is listed twice")]
    [TestCase("- {name: mychannel}", "peer.channels[0]", "channel mychannel has no orderer")]
    [TestCase("- {orderer: 127.0.0.1:7050}", "peer.channels[0]", "the channel has no name")]
    [TestCase("- {name: mychannel, orderer: 127.0.0.1:7050, genesis: x}", "peer.channels[0]", "unknown field 'genesis'; a channel has name and orderer")]
    [TestCase("- {name: [a, b], orderer: 127.0.0.1:7050}", "peer.channels[0].name", "expected a single value")]
    [TestCase("- [a, b]", "peer.channels", "list items must be plain values or mappings")]
    public void Channels_BadValues_NameTheKey(string items, string key, string expected)
    {
        var errors = Errors(Yaml("peer:\n  channels:\n    " + items + "\n"));
        Assert.That(errors, Has.Count.EqualTo(1), string.Join("; ", errors));
        Assert.That(errors[0].Key, Is.EqualTo(key));
        Assert.That(errors[0].Message, Does.Contain(expected));
        Assert.That(errors[0].Source, Does.StartWith("peer.yaml:3:"));
    }

    [Test]
    public void Channels_WithTls_IsAnError_NamingBothKeys()
    {
        var error = Errors(null, null, "peer.channels=mychannel@127.0.0.1:7050", "peer.tls.enabled=true").Single();
        Assert.That(error.Key, Is.EqualTo("peer.channels"));
        Assert.That(error.Message, Does.Contain("peer.tls.enabled"));
    }

    [Test]
    public void ElectionKeys_ReachTheLibrarysElectionOptions_AndNoKeyIsWithoutEffect()
    {
        var s = Load(Yaml("""
            gossip:
              useLeaderElection: false
              orgLeader: true
              publishStateInfoInterval: 500ms
              requestStateInfoInterval: 700ms
              maxBlockCountToStore: 50
              election:
                startupGracePeriod: 2s
                membershipSampleInterval: 100ms
                leaderAliveThreshold: 3s
                leaderElectionDuration: 1s
            """));
        var e = s.Gossip.Election;
        Assert.Multiple(() =>
        {
            Assert.That(e.UseLeaderElection, Is.False);
            Assert.That(e.OrgLeader, Is.True);
            Assert.That(e.StartupGracePeriod, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(e.MembershipSampleInterval, Is.EqualTo(TimeSpan.FromMilliseconds(100)));
            Assert.That(e.LeaderAliveThreshold, Is.EqualTo(TimeSpan.FromSeconds(3)));
            Assert.That(e.LeaderElectionDuration, Is.EqualTo(TimeSpan.FromSeconds(1)));
            Assert.That(s.Gossip.PublishStateInfoInterval, Is.EqualTo(TimeSpan.FromMilliseconds(500)));
            Assert.That(s.Gossip.RequestStateInfoInterval, Is.EqualTo(TimeSpan.FromMilliseconds(700)));
            Assert.That(s.Gossip.Ledger.MaxBlockCountToStore, Is.EqualTo(50));
        });
        Assert.That(ConfigSchema.Keys.Where(k => k.NotInEffect is not null).Select(k => k.Path), Is.Empty,
            "every key the peer accepts takes effect");
        Assert.That(Load(Yaml("gossip:\n  useLeaderElection: false\n")).Gossip.Election.OrgLeader, Is.False, "both false: a static follower");
    }

    [TestCase("gossip.election.leaderAliveThreshold=0", "gossip.election.leaderAliveThreshold", "must be positive")]
    [TestCase("gossip.election.startupGracePeriod=soon", "gossip.election.startupGracePeriod", "is not a duration")]
    [TestCase("gossip.useLeaderElection=maybe", "gossip.useLeaderElection", "is not true or false")]
    [TestCase("gossip.maxBlockCountToStore=0", "gossip.maxBlockCountToStore", "must be between 1 and 100000")]
    [TestCase("gossip.publishStateInfoInterval=4", "gossip.publishStateInfoInterval", "has no unit")]
    public void ElectionAndChannelKeys_BadValues_NameTheKey(string set, string key, string expected)
    {
        var error = Errors(null, null, set).Single();
        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Message, Does.Contain(expected));
    }

    [Test]
    public void BothElectionModes_FromDifferentSources_IsAnError_NamingBothKeys()
    {
        var error = Errors(Yaml("gossip:\n  useLeaderElection: true\n"), new Hashtable { ["ENGINE_GOSSIP_ORGLEADER"] = "true" }).Single();
        Assert.That(error.Key, Is.EqualTo("gossip.orgLeader"));
        Assert.That(error.Source, Is.EqualTo("environment variable ENGINE_GOSSIP_ORGLEADER"));
        Assert.That(error.Message, Does.Contain("gossip.useLeaderElection"));
    }

    [Test]
    public void SamplePeerYaml_HoldsEveryKey_AtItsDefault_ExceptTheBootstrap()
    {
        var sample = Load(Path.Combine(RepoRoot(), "tools", "Engine.Peer", "peer.yaml"));
        var fresh = new PeerSettings();
        Assert.That(sample.Sources.Keys, Is.EquivalentTo(ConfigSchema.Keys.Select(k => k.Path)), "peer.yaml is a sample with every key");
        foreach (var key in ConfigSchema.Keys.Where(k => k.Path != "gossip.bootstrap"))
        {
            Assert.That(key.Read(sample), Is.EqualTo(key.Read(fresh)), $"peer.yaml: {key.Path} is not its default");
        }
    }

    [Test]
    public void EveryKey_ANonDefaultValue_TakesEffect_AndReadsBackAsWritten()
    {
        var fresh = new PeerSettings();
        foreach (var key in ConfigSchema.Keys)
        {
            string value = OtherValue(key);
            var s = new PeerSettings();
            Assert.That(key.TryApply(ConfigValue.Text(value, "test"), s, out string? error), Is.True, $"{key.Path}={value}: {error}");
            string read = key.Read(s);
            Assert.That(read, Is.Not.EqualTo(key.Read(fresh)), $"{key.Path}={value} changed nothing");

            var again = new PeerSettings();
            Assert.That(key.TryApply(ConfigValue.Text(read, "test"), again, out error), Is.True, $"{key.Path}: its own output '{read}' does not parse: {error}");
            Assert.That(key.Read(again), Is.EqualTo(read), $"{key.Path} does not round-trip");
        }
    }

    /// <summary>A valid value other than the key's default, chosen from its type.</summary>
    private static string OtherValue(ConfigKey key)
    {
        string d = key.DefaultText;
        switch (key.Type)
        {
            case "bool":
                return d == "true" ? "false" : "true";
            case "duration":
            case "duration or empty":
                return d.Length == 0 ? "3s" : ConfigValueParsers.FormatDuration(Parse(d) + TimeSpan.FromMilliseconds(500));
            case "int":
                {
                    int v = int.Parse(d, System.Globalization.CultureInfo.InvariantCulture);
                    var probe = new PeerSettings();
                    string up = (v + 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                    return key.TryApply(ConfigValue.Text(up, "test"), probe, out _) ? up : (v - 1).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

            case "bytes":
                {
                    Assert.That(ConfigValueParsers.TryParseBytes(d, 0L, long.MaxValue, out long v, out _), Is.True, key.Path);
                    return (v == 0 ? 4096 : v / 2).ToString(System.Globalization.CultureInfo.InvariantCulture);
                }

            case "endpoint":
                return "127.0.0.1:7999";
            case "endpoint list":
                return "127.0.0.1:7998, 127.0.0.1:7997";
            case "channel list":
                return "mychannel@127.0.0.1:7050";
            case "string":
                return d + "x";
            case "path":
                return "/tmp/engine-msp";
            case "hex":
                return "0a0b0c";
            default:
                Assert.That(key.Type, Does.StartWith("one of "), $"{key.Path}: no sample value for type {key.Type}");
                return key.Type["one of ".Length..].Split(", ").First(c => c != d);
        }

        static TimeSpan Parse(string text)
        {
            Assert.That(ConfigValueParsers.TryParseDuration(text, out var t, out string? error), Is.True, error);
            return t;
        }
    }

    [Test]
    public void StateTransferArchiveAndStoreKeys_ReachTheLibrarysOptions()
    {
        var s = Load(Yaml("""
            gossip:
              lazyBlockPush: false
              maxStoredMessages: 5000
              maxStoredBytes: 2GiB
              archiveBlockCount: 0
              archiveBytes: 3GiB
              maxBlockBytes: 1MiB
              ordererRetryInterval: 250ms
              swimMaxPiggyback: 8
              state:
                enabled: false
                checkInterval: 2s
                responseTimeout: 750ms
                batchSize: 40
                blockBufferSize: 50
                maxRetries: 0
                maxResponseBytes: 512KiB
            """));
        var g = s.Gossip;
        Assert.Multiple(() =>
        {
            Assert.That(g.LazyBlockPush, Is.False);
            Assert.That(g.MaxStoredMessages, Is.EqualTo(5000));
            Assert.That(g.MaxStoredBytes, Is.EqualTo(2L << 30));
            Assert.That(g.Ledger.ArchiveBlockCount, Is.Zero);
            Assert.That(g.Ledger.ArchiveBytes, Is.EqualTo(3L << 30));
            Assert.That(g.Ledger.MaxBlockBytes, Is.EqualTo(1 << 20));
            Assert.That(g.OrdererRetryInterval, Is.EqualTo(TimeSpan.FromMilliseconds(250)));
            Assert.That(g.Swim.MaxPiggyback, Is.EqualTo(8));
            Assert.That(g.State.Enabled, Is.False);
            Assert.That(g.State.CheckInterval, Is.EqualTo(TimeSpan.FromSeconds(2)));
            Assert.That(g.State.ResponseTimeout, Is.EqualTo(TimeSpan.FromMilliseconds(750)));
            Assert.That(g.State.BatchSize, Is.EqualTo(40));
            Assert.That(g.Ledger.BlockBufferSize, Is.EqualTo(50));
            Assert.That(g.State.MaxRetries, Is.Zero);
            Assert.That(g.State.MaxResponseBytes, Is.EqualTo(512 * 1024));
            Assert.That(s.Sources["gossip.state.batchSize"], Is.EqualTo("peer.yaml:14:16"));
        });

        var d = Load(null).Gossip;
        var library = new GossipOptions();
        Assert.Multiple(() =>
        {
            Assert.That(d.State.Enabled, Is.EqualTo(library.State.Enabled).And.True);
            Assert.That(d.State.CheckInterval, Is.EqualTo(library.State.CheckInterval));
            Assert.That(d.State.ResponseTimeout, Is.EqualTo(library.State.ResponseTimeout));
            Assert.That(d.State.BatchSize, Is.EqualTo(library.State.BatchSize));
            Assert.That(d.State.MaxRetries, Is.EqualTo(library.State.MaxRetries));
            Assert.That(d.State.MaxResponseBytes, Is.EqualTo(library.State.MaxResponseBytes));
            Assert.That(d.Ledger.BlockBufferSize, Is.EqualTo(library.Ledger.BlockBufferSize));
            Assert.That(d.Ledger.ArchiveBlockCount, Is.EqualTo(library.Ledger.ArchiveBlockCount));
            Assert.That(d.Ledger.ArchiveBytes, Is.EqualTo(library.Ledger.ArchiveBytes));
            Assert.That(d.Ledger.MaxBlockBytes, Is.EqualTo(library.Ledger.MaxBlockBytes));
            Assert.That(d.LazyBlockPush, Is.EqualTo(library.LazyBlockPush).And.True);
            Assert.That(d.MaxStoredMessages, Is.EqualTo(library.MaxStoredMessages));
            Assert.That(d.MaxStoredBytes, Is.EqualTo(library.MaxStoredBytes));
            Assert.That(d.OrdererRetryInterval, Is.EqualTo(library.OrdererRetryInterval));
            Assert.That(d.Swim.MaxPiggyback, Is.EqualTo(library.Swim.MaxPiggyback));
        });

        var env = Load(null, new Hashtable { ["ENGINE_GOSSIP_STATE_CHECKINTERVAL"] = "30s", ["ENGINE_GOSSIP_LAZYBLOCKPUSH"] = "false" },
            "gossip.state.maxRetries=7", "gossip.archiveBytes=1GiB");
        Assert.That(env.Gossip.State.CheckInterval, Is.EqualTo(TimeSpan.FromSeconds(30)));
        Assert.That(env.Gossip.LazyBlockPush, Is.False);
        Assert.That(env.Gossip.State.MaxRetries, Is.EqualTo(7));
        Assert.That(env.Gossip.Ledger.ArchiveBytes, Is.EqualTo(1L << 30));
    }

    [TestCase("gossip.state.enabled=sometimes", "gossip.state.enabled", "is not true or false")]
    [TestCase("gossip.state.checkInterval=10", "gossip.state.checkInterval", "has no unit")]
    [TestCase("gossip.state.responseTimeout=0", "gossip.state.responseTimeout", "must be positive")]
    [TestCase("gossip.state.batchSize=0", "gossip.state.batchSize", "must be between 1 and 10000, was 0")]
    [TestCase("gossip.state.blockBufferSize=-5", "gossip.state.blockBufferSize", "must be between 1 and 100000")]
    [TestCase("gossip.state.maxRetries=1001", "gossip.state.maxRetries", "must be between 0 and 1000, was 1001")]
    [TestCase("gossip.state.maxResponseBytes=512", "gossip.state.maxResponseBytes", "must be between 1024 and 1073741824 bytes, was 512")]
    [TestCase("gossip.archiveBlockCount=-1", "gossip.archiveBlockCount", "must be between 0 and 10000000")]
    [TestCase("gossip.archiveBytes=2048GiB", "gossip.archiveBytes", "must be between 0 and 1099511627776 bytes")]
    [TestCase("gossip.archiveBytes=lots", "gossip.archiveBytes", "is not a byte size")]
    [TestCase("gossip.maxBlockBytes=2GiB", "gossip.maxBlockBytes", "must be between 64 and 1073741824 bytes")]
    [TestCase("gossip.maxStoredBytes=1KiB", "gossip.maxStoredBytes", "must be between 65536")]
    [TestCase("gossip.maxStoredMessages=0", "gossip.maxStoredMessages", "must be between 1 and 67108864")]
    [TestCase("gossip.lazyBlockPush=1", "gossip.lazyBlockPush", "is not true or false")]
    [TestCase("gossip.ordererRetryInterval=-1s", "gossip.ordererRetryInterval", "must be positive")]
    [TestCase("gossip.swimMaxPiggyback=300", "gossip.swimMaxPiggyback", "must be between 1 and 256")]
    [TestCase("gossip.state.batchsiz=5", "gossip.state.batchsiz", "did you mean gossip.state.batchSize?")]
    public void StateTransferArchiveAndStoreKeys_BadValues_NameTheKey(string set, string key, string expected)
    {
        var error = Errors(null, null, set).Single();
        Assert.That(error.Key, Is.EqualTo(key));
        Assert.That(error.Source, Is.EqualTo("--set"));
        Assert.That(error.Message, Does.Contain(expected));
    }

    [Test]
    public void StateBatchLargerThanTheReorderBuffer_IsAnError_NamingBothKeys()
    {
        var error = Errors(Yaml("gossip:\n  state:\n    batchSize: 30\n")).Single();
        Assert.That(error.ToString(), Is.EqualTo(
            "peer.yaml:3:16: gossip.state.batchSize: (30) must be at most gossip.state.blockBufferSize (20), or the blocks of a batch beyond the reorder buffer would be refused"));
        Assert.That(Load(Yaml("gossip:\n  state:\n    batchSize: 30\n    blockBufferSize: 30\n")).Gossip.State.BatchSize, Is.EqualTo(30));
    }

    [Test]
    public void NetworkSampleFiles_Load()
    {
        string dir = Path.Combine(RepoRoot(), "tools", "Engine.Peer", "network");
        foreach (string file in Directory.GetFiles(dir, "peer*.yaml"))
        {
            var s = Load(file);
            Assert.That(s.Channels.Single(), Is.EqualTo(new PeerChannel("mychannel", PeerEndpoint.Loopback(7050))), file);
            Assert.That(s.Gossip.ExternalEndpoint, Is.EqualTo(s.Gossip.Endpoint), file);
        }

        var orderer = Engine.Peer.Ordering.OrdererSettings.Load(Path.Combine(dir, "orderer.yaml"));
        Assert.That(orderer.Channels.Single().Orgs.Select(o => o.Org), Is.EqualTo((string[])["Org1", "Org2"]));
    }

    internal static string RepoRoot()
    {
        var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Engine.sln not found above the test directory");
    }
}
