// Expected values are written inline, as the scenario reads.
#pragma warning disable CA1861
using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Engine.Tests.LoadGen;

/// <summary>
/// <c>Engine.LoadGen firstnet --processes</c>: the seed's first network with the orderer and each of the four peers an
/// Engine.Peer OS process on loopback, judged on its <c>--json</c> (end states read through the processes' admin ports)
/// and on the processes left running afterwards — none, after a normal end, a <c>--timeout</c> or a Ctrl-C.
/// </summary>
[Category("Sockets")]
[NonParallelizable]
public sealed class FirstNetProcessTests
{
    private static readonly string[] Peers = ["peer0.org1", "peer1.org1", "peer0.org2", "peer1.org2"];

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_Processes_ReachTheSeedsEndStates_AndLeaveNoProcessBehind(CancellationToken cancellationToken)
    {
        var (result, output, pid) = await RunAsync(0, ["--processes"], cancellationToken);
        Assert.That(LoadGenProcessTests.PeersLaunchedBy(pid), Is.Empty, "no Engine.Peer process (orderer or peer) outlives the load generator");
        Assert.That((bool)result["processes"]!, Is.True);
        Assert.That((bool)result["end_state_reached"]!, Is.True, output);
        Assert.That(output, Does.Contain("peer0.org1: bootstrap peer peer1.org1 is not reachable"), "the peers' own log lines, read from their stdout");
        Assert.That(output, Does.Contain("Not available across processes: commit times"));
        AssertPortsBelowTheEphemeralRange(result);

        var steps = result["steps"]!.AsArray();
        Assert.That((string)steps[0]!["name"]!, Is.EqualTo("start the orderer"));
        var joined = steps.Single(s => ((string)s!["name"]!).StartsWith("join", StringComparison.Ordinal))!;
        Assert.That(Names(joined["leaders"]!["Org1"]), Is.EqualTo(new[] { "peer0.org1" }), "the first peer of Org1 to join leads it");
        Assert.That(Names(joined["leaders"]!["Org2"]), Is.EqualTo(new[] { "peer0.org2" }));
        Assert.That(Names(joined["views"]!["peer0.org1"]), Is.EqualTo(new[] { "peer1.org1" }), "before anchors a peer sees only its org");
        Assert.That(Names(joined["views"]!["peer1.org2"]), Is.EqualTo(new[] { "peer0.org2" }));

        var last = steps[^1]!;
        Assert.That(Names(last["leaders"]!["Org1"]), Is.EqualTo(new[] { "peer0.org1" }), "one leader per org");
        Assert.That(Names(last["leaders"]!["Org2"]), Is.EqualTo(new[] { "peer0.org2" }));
        foreach (string peer in Peers)
        {
            Assert.That(Names(last["views"]![peer]), Is.EquivalentTo(Peers.Where(p => p != peer)), $"{peer} sees both orgs after the anchors");
        }

        var blocks = result["blocks"]!.AsArray();
        Assert.That(blocks.Select(b => (ulong)b!["seq"]!), Is.EqualTo(new ulong[] { 1, 2, 3 }), "two anchor updates and a data block");
        foreach (var block in blocks)
        {
            ulong seq = (ulong)block!["seq"]!;
            Assert.That(Names(block["deliveries"]), Is.EqualTo(new[] { "peer0.org1", "peer0.org2" }), $"block #{seq} goes to the two leaders only");
            var commits = block["commits"]!.AsObject();
            Assert.That(commits.Select(c => c.Key), Is.EquivalentTo(Peers), $"block #{seq} committed everywhere");
            Assert.That(commits.Select(c => c.Value), Has.All.Null, "commit times are not measured across processes, and not made up");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_Processes_WithoutBootstrap_EveryPeerFirstLeads_OnePerOrgRemains(CancellationToken cancellationToken)
    {
        var (result, output, pid) = await RunAsync(0, ["--processes", "--no-bootstrap"], cancellationToken);
        Assert.That(LoadGenProcessTests.PeersLaunchedBy(pid), Is.Empty);
        AssertPortsBelowTheEphemeralRange(result);
        Assert.That((bool)result["end_state_reached"]!, Is.True, output);
        var steps = result["steps"]!.AsArray();
        var joined = steps.Single(s => ((string)s!["name"]!).StartsWith("join", StringComparison.Ordinal))!;
        Assert.That(Names(joined["leaders"]!["Org1"]), Is.EquivalentTo(new[] { "peer0.org1", "peer1.org1" }), "every peer first leads");
        Assert.That(Names(joined["leaders"]!["Org2"]), Is.EquivalentTo(new[] { "peer0.org2", "peer1.org2" }));
        var blocks = result["blocks"]!.AsArray();
        Assert.That(Names(blocks.Single(b => (ulong)b!["seq"]! == 1)!["deliveries"]), Has.Length.EqualTo(4), "the orderer serves each of the four leaders");
        string[] org1 = Names(steps[^1]!["leaders"]!["Org1"]), org2 = Names(steps[^1]!["leaders"]!["Org2"]);
        Assert.That(org1, Has.Length.EqualTo(1));
        Assert.That(org2, Has.Length.EqualTo(1));
        Assert.That(Names(blocks[^1]!["deliveries"]), Is.EquivalentTo(org1.Concat(org2)));
        foreach (string peer in Peers)
        {
            Assert.That(Names(steps[^1]!["views"]![peer]), Is.EquivalentTo(Peers.Where(p => p != peer)), peer);
        }

        Assert.That(output, Does.Contain("stepped down as leader of Org1").And.Contain("stepped down as leader of Org2"));
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_Processes_Timeout_StopsEveryProcess_AndReportsWhatItHad(CancellationToken cancellationToken)
    {
        // Step 2 alone waits 5 s after the orderer and peer0.org1 started: a 6 s bound ends the run early, with processes running.
        var (result, output, pid) = await RunAsync(1, ["--processes", "--timeout", "00:00:06"], cancellationToken);
        Assert.That(LoadGenProcessTests.PeersLaunchedBy(pid), Is.Empty, "every process was stopped before the load generator exited: " + output);
        Assert.That(output, Does.Contain("Stopped (--timeout or Ctrl-C)"), output);
        Assert.That((bool)result["end_state_reached"]!, Is.False);
        var steps = result["steps"]!.AsArray();
        Assert.That(steps, Has.Count.LessThan(8), "the run did not get to its end");
        Assert.That(steps.Take(1).Select(s => (string)s!["name"]!), Is.All.EqualTo("start the orderer"), "the steps it ran are reported");
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_Processes_CtrlC_StopsEveryProcess(CancellationToken cancellationToken)
    {
        using var loadgen = LoadGenProcessTests.StartLoadGen("firstnet", "--processes", "--timeout", "00:01:30");
        int pid = loadgen.Id;
        var output = loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
        await LoadGenProcessTests.WaitUntilLaunchedAsync(loadgen, 2, "the orderer and peer0.org1", cancellationToken);
        await LoadGenProcessTests.CtrlCAsync(loadgen, cancellationToken);
        string text = await output;
        Assert.That(LoadGenProcessTests.PeersLaunchedBy(pid), Is.Empty, "every process was stopped before the load generator exited: " + text);
        Assert.That(loadgen.ExitCode, Is.EqualTo(1), text);
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_Processes_LoadGeneratorKilled_OrdererAndPeersStopByThemselves(CancellationToken cancellationToken)
    {
        using var loadgen = LoadGenProcessTests.StartLoadGen("firstnet", "--processes", "--timeout", "00:01:30");
        int pid = loadgen.Id;
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (LoadGenProcessTests.PeersLaunchedBy(pid).Count < 2)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the orderer and peer0.org1 did not start");
            Assert.That(loadgen.HasExited, Is.False, "the load generator ended before its processes ran");
            await Task.Delay(50, cancellationToken);
        }

        loadgen.Kill(); // no chance to clean up: the orderer and the peer watch their launcher (--parent-pid)
        await loadgen.WaitForExitAsync(cancellationToken);
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (LoadGenProcessTests.PeersLaunchedBy(pid).Count > 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"processes still running 20 s after their launcher died: {string.Join(", ", LoadGenProcessTests.PeersLaunchedBy(pid))}");
            await Task.Delay(100, cancellationToken);
        }
    }

    /// <summary>
    /// The processes start one after the other over seconds, each on a port chosen before the first starts: a port from the
    /// kernel's ephemeral range could meanwhile become some connection's source port, and the process started on it fail
    /// with "address already in use" (as it once did in CI).
    /// </summary>
    private static void AssertPortsBelowTheEphemeralRange(JsonNode result)
    {
        string range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range");
        int ephemeralStart = int.Parse(range.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)[0], CultureInfo.InvariantCulture);
        var endpoints = result["endpoints"]!.AsObject();
        Assert.That(endpoints.Select(e => e.Key), Is.EquivalentTo(Peers.Append("orderer")));
        int[] ports = [.. endpoints.Select(e => int.Parse(((string)e.Value!).Split(':')[1], CultureInfo.InvariantCulture))];
        Assert.That(ports, Is.Unique);
        Assert.That(ports, Has.All.LessThan(ephemeralStart).And.All.GreaterThanOrEqualTo(1024), $"endpoints {endpoints.ToJsonString()}, ephemeral range {range.Trim()}");
    }

    private static string[] Names(JsonNode? array) => [.. array!.AsArray().Select(n => (string)n!)];

    private static async Task<(JsonNode Result, string Output, int Pid)> RunAsync(int expectedExitCode, string[] extra, CancellationToken cancellationToken)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-firstnet-processes-{Guid.NewGuid():N}.json");
        try
        {
            using var loadgen = LoadGenProcessTests.StartLoadGen(["firstnet", .. extra, "--json", json]);
            int pid = loadgen.Id;
            string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await loadgen.WaitForExitAsync(cancellationToken);
            Assert.That(loadgen.ExitCode, Is.EqualTo(expectedExitCode), output);
            return (JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!, output, pid);
        }
        finally
        {
            File.Delete(json);
        }
    }
}
