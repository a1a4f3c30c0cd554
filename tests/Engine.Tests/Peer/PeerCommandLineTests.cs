using Engine.Peer;

namespace Engine.Tests.Peer;

/// <summary>The command line as an operator meets it: exit codes and messages, without starting a node.</summary>
public sealed class PeerCommandLineTests
{
    private static (int Exit, string Out, string Err) Run(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = Program.BuildCommand(output, error).Parse(args).Invoke(new System.CommandLine.InvocationConfiguration
        {
            Output = output,
            Error = error,
            ProcessTerminationTimeout = null,
        });
        return (exit, output.ToString(), error.ToString());
    }

    [Test]
    public void BadConfig_ExitsWith2_AndNamesEveryBadKey_WithoutAStackTrace()
    {
        string path = Path.Combine(Path.GetTempPath(), $"engine-peer-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(path, "gossip:\n  aliveTimeInterval: 5\n  propagatePeerNumber: 3\n");
        try
        {
            var (exit, _, err) = Run("--config", path, "--set", "admin.listenAddress=nowhere");
            Assert.That(exit, Is.EqualTo(Program.ExitBadConfig));
            Assert.That(err, Does.Contain("the configuration has 3 problems; the peer did not start"));
            Assert.That(err, Does.Contain(":2:22: gossip.aliveTimeInterval: '5' has no unit"));
            Assert.That(err, Does.Contain(":3:3: gossip.propagatePeerNumber: unknown key (did you mean gossip.propagatePeerNum?)"));
            Assert.That(err, Does.Contain("--set: admin.listenAddress: 'nowhere' is not host:port"));
            Assert.That(err, Does.Not.Contain("   at "), "no stack trace");
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Test]
    public void PrintConfig_ShowsEffectiveValuesAndTheirSources()
    {
        var (exit, output, _) = Run("--print-config", "--set", "gossip.pullInterval=7s", "--log-format", "json");
        Assert.That(exit, Is.Zero);
        Assert.That(output, Does.Match(@"gossip\.pullInterval\s+7s\s+# --set"));
        Assert.That(output, Does.Match(@"gossip\.aliveTimeInterval\s+5s\s+# default"));
        Assert.That(output, Does.Match(@"log\.format\s+json\s+# --set"));
        Assert.That(output, Does.Match(@"gossip\.orgLeader\s+false\s+# default\n"));
        Assert.That(output, Does.Match(@"peer\.channels\s+""""\s+# default\n"));
        Assert.That(output, Does.Not.Contain("no effect yet"));
    }

    [Test]
    public void Certs_WritesACaPerOrgAndACertificatePerPeer_ThatTheTrustStoreAccepts_AndNeverOverwrites()
    {
        string root = Path.Combine(Path.GetTempPath(), $"engine-certs-{Guid.NewGuid():N}");
        try
        {
            var (exit, output, err) = Run("certs", "--orgs", "Org1,Org2", "--peers", "2", "--out", root);
            Assert.That(exit, Is.Zero, err);
            Assert.That(output, Does.Contain("2 org(s), 4 peer(s)"));
            var trust = Engine.Security.CryptoMaterial.LoadTrustStore(root);
            foreach (string org in new[] { "Org1", "Org2" })
            {
                for (int i = 0; i < 2; i++)
                {
                    using var peer = Engine.Security.CryptoMaterial.LoadPeer(Engine.Security.CryptoMaterial.PeerDirectory(root, org, Engine.Security.CryptoMaterial.PeerName(org, i)));
                    Assert.That(trust.Validate(org, peer.Certificate, out string? reason), Is.EqualTo(Engine.Security.CertificateVerdict.Trusted), reason);
                    string other = org == "Org1" ? "Org2" : "Org1";
                    Assert.That(trust.Validate(other, peer.Certificate, out _), Is.Not.EqualTo(Engine.Security.CertificateVerdict.Trusted), "a peer is not trusted as another org's");
                }
            }

            var again = Run("certs", "--orgs", "Org1", "--peers", "1", "--out", root);
            Assert.That(again.Exit, Is.EqualTo(Program.ExitBadConfig));
            Assert.That(again.Err, Does.StartWith("Engine.Peer certs: "));
            Assert.That(again.Err, Does.Not.Contain("   at "), "no stack trace");
        }
        finally
        {
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }
        }
    }

    [Test]
    public void LogFormat_AcceptsOnlySimpleOrJson()
    {
        var (exit, _, err) = Run("--log-format", "xml", "--print-config");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(err, Does.Contain("xml"));
    }

    [TestCase("x", "Cannot parse argument 'x' for option '--parent-pid'")]
    [TestCase("0", "--parent-pid must be a process id, was 0")]
    public void ParentPid_NotAProcessId_IsAnArgumentError_WithoutAStackTrace(string value, string expected)
    {
        var (exit, _, err) = Run("--parent-pid", value, "--print-config");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(err, Does.Contain(expected));
        Assert.That(err, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    public void Status_BadPeerArgument_IsAnArgumentError()
    {
        var (exit, _, err) = Run("status", "--peer", "nowhere");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(err, Does.Contain("--peer 'nowhere' is not HOST:PORT"));
    }
}
