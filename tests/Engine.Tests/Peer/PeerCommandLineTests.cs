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
        Assert.That(output, Does.Match(@"gossip\.orgLeader\s+false\s+# default; no effect yet: leader election is not built yet"));
    }

    [Test]
    public void LogFormat_AcceptsOnlySimpleOrJson()
    {
        var (exit, _, err) = Run("--log-format", "xml", "--print-config");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(err, Does.Contain("xml"));
    }

    [Test]
    public void Status_BadPeerArgument_IsAnArgumentError()
    {
        var (exit, _, err) = Run("status", "--peer", "nowhere");
        Assert.That(exit, Is.Not.Zero);
        Assert.That(err, Does.Contain("--peer 'nowhere' is not HOST:PORT"));
    }
}
