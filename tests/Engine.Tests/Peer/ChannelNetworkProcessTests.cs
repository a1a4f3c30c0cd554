using System.Text.RegularExpressions;
using Engine.Peer.Admin;
using Engine.Peer.Hosting;
using Engine.Transport;

namespace Engine.Tests.Peer;

/// <summary>
/// A Fabric-shaped network of real processes, as an operator runs it from config files: an orderer process and two peer
/// processes of one org joined to its channel; `status` shows one leader and both peers at the orderer's height.
/// </summary>
[Category("Sockets")]
public sealed partial class ChannelNetworkProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    /// <summary>Fast election and StateInfo timings (Fabric's are 15 s of grace, 10 s alive threshold, 5 s election, 4 s StateInfo).</summary>
    private static readonly string[] FastChannel =
    [
        "gossip.election.startupGracePeriod=1s",
        "gossip.election.membershipSampleInterval=200ms",
        "gossip.election.leaderAliveThreshold=2s",
        "gossip.election.leaderElectionDuration=500ms",
        "gossip.publishStateInfoInterval=500ms",
        "gossip.requestStateInfoInterval=500ms",
    ];

    private string _dir = "";

    [SetUp]
    public void SetUp() => _dir = Directory.CreateTempSubdirectory("engine-network-").FullName;

    [TearDown]
    public void TearDown() => Directory.Delete(_dir, recursive: true);

    [Test]
    [CancelAfter(30_000)]
    public async Task OrdererWithBadConfiguration_StopsAtStart_WithExitCode2_AndTheKeyNamed(CancellationToken cancellationToken)
    {
        string config = Path.Combine(_dir, "orderer.yaml");
        await File.WriteAllTextAsync(config, "channels:\n  - name: mychannel\n    blocksPerSecond: fast\n    orgs: [{name: Org1}]\n", cancellationToken);
        using var orderer = PeerProcess.Start("orderer", "--config", config);
        Assert.That(await orderer.WaitForExitAsync(Deadline, cancellationToken), Is.EqualTo(2), orderer.Error);
        Assert.That(orderer.Error, Does.Contain("orderer.yaml:3:22: channels[0].blocksPerSecond: 'fast' is not a rate"));
        Assert.That(orderer.Error + orderer.Output, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    [CancelAfter(90_000)]
    public async Task OrdererAndTwoPeersOfOneOrg_OneLeader_BothAtTheOrderersHeight_AndAllStopCleanly(CancellationToken cancellationToken)
    {
        // The orderer: one channel, Org1 without anchors, blocks cut only on demand.
        string ordererConfig = Path.Combine(_dir, "orderer.yaml");
        await File.WriteAllTextAsync(ordererConfig, """
            orderer:
              listenAddress: 127.0.0.1:0
            channels:
              - name: mychannel
                blocksPerSecond: 0
                orgs:
                  - name: Org1
            admin:
              listenAddress: 127.0.0.1:0
            """, cancellationToken);
        using var orderer = PeerProcess.Start("orderer", "--config", ordererConfig);
        var ordererEndpoint = PeerEndpoint.Parse((await orderer.WaitForLineAsync(OrdererStarted(), Deadline, cancellationToken)).Groups[1].Value);
        var ordererAdmin = await orderer.AdminEndpointAsync(Deadline, cancellationToken);

        // Two peers of Org1 from config files, the second bootstrapping off the first.
        using var first = StartPeer("first", ordererEndpoint, bootstrap: null);
        var firstAdmin = await first.AdminEndpointAsync(Deadline, cancellationToken);
        var firstEndpoint = (await AdminClient.GetStatusAsync(firstAdmin, cancellationToken)).Endpoint;
        using var second = StartPeer("second", ordererEndpoint, bootstrap: firstEndpoint);
        var secondAdmin = await second.AdminEndpointAsync(Deadline, cancellationToken);
        await first.WaitForLineAsync(Joined(), Deadline, cancellationToken);
        await second.WaitForLineAsync(Joined(), Deadline, cancellationToken);

        // Exactly one leader, and both peers name it.
        var (a, b) = await UntilAsync(firstAdmin, secondAdmin, (x, y) =>
            x.IsLeader != y.IsLeader && x.Leaders.Count == 1 && y.Leaders.SequenceEqual(x.Leaders), cancellationToken);
        string leader = a.Leaders.Single();
        Assert.That(leader, Is.EqualTo(a.IsLeader ? firstEndpoint : (await AdminClient.GetStatusAsync(secondAdmin, cancellationToken)).Endpoint));

        // The orderer cuts three blocks on demand (through its admin port, as `Engine.Peer orderer cut` does).
        for (int i = 1; i <= 3; i++)
        {
            var cut = await AdminClient.SendAsync(ordererAdmin, new AdminRequest(AdminProtocol.CutCommand, "mychannel", Bytes: 64), cancellationToken);
            Assert.That(cut.Block, Is.EqualTo((ulong)i));
        }

        // Both peers commit them (height 4 with the genesis block) and each sees the other at height 4 in its channel view.
        (a, b) = await UntilAsync(firstAdmin, secondAdmin, (x, y) =>
            x.Height == 4 && y.Height == 4 && x.Members.Count == 1 && x.Members[0].Height == 4 && y.Members.Count == 1 && y.Members[0].Height == 4,
            cancellationToken);
        Assert.That(a.IsLeader ^ b.IsLeader, Is.True, "still one leader");

        // The orderer delivers to the leader only: one stream, to it.
        var ordererStatus = (await AdminClient.SendAsync(ordererAdmin, new AdminRequest(AdminProtocol.StatusCommand), cancellationToken)).Orderer!;
        var channel = ordererStatus.Channels.Single();
        Assert.That(channel.Height, Is.EqualTo(4UL));
        Assert.That(channel.Streams.Select(s => s.Peer), Is.EqualTo(new[] { leader }));

        // The operator's view: `status --peer` prints the channel's leader, view and heights, and the orderer's status the
        // stream to that leader. Polled, and not tied to the leader seen above: on a loaded machine a declaration can be
        // missed, the other peer then declares and the two may swap (Fabric's rule: the lower PKI-ID keeps it).
        string secondEndpoint = (await AdminClient.GetStatusAsync(secondAdmin, cancellationToken)).Endpoint;
        var line = new Regex($@"^\s*mychannel \(orderer {Regex.Escape(ordererEndpoint.ToString())}\): ledger height 4, this peer (?<role>LEADS|follows); leader\(s\) of Org1: (?<leader>[0-9.]+:[0-9]+)\s*$", RegexOptions.Multiline);
        string table, ordererTable;
        Match shown;
        var until = DateTime.UtcNow + Deadline;
        while (true)
        {
            table = await StatusTextAsync(firstAdmin, cancellationToken);
            ordererTable = await StatusTextAsync(ordererAdmin, cancellationToken);
            shown = line.Match(table);
            if ((shown.Success && Regex.IsMatch(ordererTable, $@"Org1\s+\(none\)\s+{Regex.Escape(shown.Groups["leader"].Value)}")) || DateTime.UtcNow >= until)
            {
                break;
            }

            await Task.Delay(200, cancellationToken);
        }

        Assert.That(shown.Success, Is.True, table);
        string shownLeader = shown.Groups["leader"].Value;
        Assert.That(shownLeader, Is.AnyOf(firstEndpoint, secondEndpoint), table);
        Assert.That(shown.Groups["role"].Value, Is.EqualTo(shownLeader == firstEndpoint ? "LEADS" : "follows"), table);
        Assert.That(table, Does.Match(@"channel view: 1 other peer\(s\) with state in mychannel"));
        Assert.That(ordererTable, Does.Match($@"Org1\s+\(none\)\s+{Regex.Escape(shownLeader)}"), "the orderer streams to the leader the peer shows");

        // SIGTERM stops all three cleanly, each with its final line.
        first.Signal("TERM");
        second.Signal("TERM");
        orderer.Signal("TERM");
        Assert.That(await first.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, first.Error);
        Assert.That(await second.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, second.Error);
        Assert.That(await orderer.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, orderer.Error);
        Assert.That(first.Output, Does.Match(@"Peer first stopped after .*mychannel\.height=4"));
        Assert.That(second.Output, Does.Match(@"Peer second stopped after .*mychannel\.height=4"));
        Assert.That(orderer.Output, Does.Match(@"Orderer orderer0 stopped after \d+\.\ds: heights mychannel=4; blocksCut=4"));
    }

    private PeerProcess StartPeer(string name, PeerEndpoint orderer, string? bootstrap)
    {
        string config = Path.Combine(_dir, name + ".yaml");
        File.WriteAllText(config, $"""
            peer:
              id: {name}
              localMspId: Org1
              channels:
                - name: mychannel
                  orderer: {orderer}
            gossip:
              useLeaderElection: true
              orgLeader: false
            {(bootstrap is null ? "" : $"  bootstrap: {bootstrap}")}
            """);
        return PeerProcess.Start(["--config", config, .. PeerHostTests.FastLoopback.Concat(FastChannel).SelectMany(s => new[] { "--set", s })]);
    }

    /// <summary>Polls both peers' status until <paramref name="condition"/> holds for their mychannel; fails with the last seen.</summary>
    private static async Task<(ChannelStatus, ChannelStatus)> UntilAsync(PeerEndpoint first, PeerEndpoint second,
        Func<ChannelStatus, ChannelStatus, bool> condition, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Deadline;
        ChannelStatus? a = null, b = null;
        while (DateTime.UtcNow < deadline)
        {
            a = (await AdminClient.GetStatusAsync(first, cancellationToken)).Channels?.SingleOrDefault(c => c.State == "joined");
            b = (await AdminClient.GetStatusAsync(second, cancellationToken)).Channels?.SingleOrDefault(c => c.State == "joined");
            if (a is not null && b is not null && condition(a, b))
            {
                return (a, b);
            }

            await Task.Delay(100, cancellationToken); // polling interval, not a wait for an outcome
        }

        Assert.Fail($"not reached within {Deadline}: first {a}, second {b}");
        return default;
    }

    private static async Task<string> StatusTextAsync(PeerEndpoint admin, CancellationToken cancellationToken)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int exit = await Engine.Peer.Program.BuildCommand(output, error).Parse(["status", "--peer", admin.ToString()]).InvokeAsync(
            new System.CommandLine.InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken);
        Assert.That(exit, Is.Zero, error.ToString());
        return output.ToString();
    }

    [GeneratedRegex(@"Orderer orderer0 started in \d+ ms: delivery service on (\S+)")]
    private static partial Regex OrdererStarted();

    [GeneratedRegex(@"joined channel mychannel")]
    private static partial Regex Joined();
}
