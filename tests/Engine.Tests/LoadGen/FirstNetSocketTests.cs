// Expected values are written inline, as the scenario reads.
#pragma warning disable CA1861
using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Engine.Tests.LoadGen;

/// <summary>
/// <c>Engine.LoadGen firstnet</c> as an operator runs it (real sockets on 127.0.0.1), judged on its <c>--json</c>: the
/// seed's leaders, views, deliveries and commit order, with and without bootstrap peers.
/// </summary>
[Category("Sockets")]
[NonParallelizable]
public sealed class FirstNetSocketTests
{
    private static readonly string[] Peers = ["peer0.org1", "peer1.org1", "peer0.org2", "peer1.org2"];

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_WithBootstrap_ReachesTheSeedsObservations(CancellationToken cancellationToken)
    {
        var (result, output) = await RunAsync(cancellationToken);
        Assert.That((bool)result["end_state_reached"]!, Is.True, output);
        Assert.That(output, Does.Contain("peer0.org1: bootstrap peer peer1.org1 is not reachable"));
        Assert.That(output, Does.Contain("no anchor peers configured for Org2 in mychannel"));

        var steps = result["steps"]!.AsArray();
        Assert.That((string)steps[0]!["name"]!, Is.EqualTo("start the orderer"));
        var joined = steps.Single(s => ((string)s!["name"]!).StartsWith("join", StringComparison.Ordinal))!;
        Assert.That(Names(joined["leaders"]!["Org1"]), Is.EqualTo(new[] { "peer0.org1" }), "the first peer of Org1 to join leads it");
        Assert.That(Names(joined["leaders"]!["Org2"]), Is.EqualTo(new[] { "peer0.org2" }));
        Assert.That(Names(joined["views"]!["peer0.org1"]), Is.EqualTo(new[] { "peer1.org1" }), "before anchors a peer sees only its org");
        Assert.That(Names(joined["views"]!["peer1.org2"]), Is.EqualTo(new[] { "peer0.org2" }));

        var last = steps[^1]!;
        foreach (string peer in Peers)
        {
            Assert.That(Names(last["views"]![peer]), Is.EquivalentTo(Peers.Where(p => p != peer)), peer);
        }

        foreach (var block in result["blocks"]!.AsArray().Where(b => (ulong)b!["seq"]! >= 1))
        {
            ulong seq = (ulong)block!["seq"]!;
            Assert.That(Names(block["deliveries"]), Is.EqualTo(new[] { "peer0.org1", "peer0.org2" }), $"block #{seq} goes to the two leaders only");
            var commits = block["commits"]!.AsObject();
            Assert.That(commits.Select(c => c.Key), Is.EquivalentTo(Peers), $"block #{seq} committed everywhere");
            Assert.That((double)commits["peer0.org1"]!, Is.LessThan((double)commits["peer1.org1"]!), $"block #{seq}: Org1's leader commits first");
            Assert.That((double)commits["peer0.org2"]!, Is.LessThan((double)commits["peer1.org2"]!), $"block #{seq}: Org2's leader commits first");
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task FirstNet_WithoutBootstrap_EveryPeerFirstLeads_OnePerOrgRemains(CancellationToken cancellationToken)
    {
        var (result, output) = await RunAsync(cancellationToken, "--no-bootstrap");
        Assert.That((bool)result["end_state_reached"]!, Is.True, output);
        var steps = result["steps"]!.AsArray();
        var joined = steps.Single(s => ((string)s!["name"]!).StartsWith("join", StringComparison.Ordinal))!;
        Assert.That(Names(joined["leaders"]!["Org1"]), Is.EquivalentTo(new[] { "peer0.org1", "peer1.org1" }), "every peer first leads");
        Assert.That(Names(joined["leaders"]!["Org2"]), Is.EquivalentTo(new[] { "peer0.org2", "peer1.org2" }));
        var blocks = result["blocks"]!.AsArray();
        Assert.That(Names(blocks.Single(b => (ulong)b!["seq"]! == 1)!["deliveries"]), Has.Length.EqualTo(4), "the orderer serves each of the four leaders");
        // One leader per org remains (the lowest PKI-ID, which hashes the endpoint: either peer), and only it is served.
        string[] org1 = Names(steps[^1]!["leaders"]!["Org1"]), org2 = Names(steps[^1]!["leaders"]!["Org2"]);
        Assert.That(org1, Has.Length.EqualTo(1));
        Assert.That(org2, Has.Length.EqualTo(1));
        Assert.That(Names(blocks[^1]!["deliveries"]), Is.EquivalentTo(org1.Concat(org2)));
        Assert.That(output, Does.Contain("stepped down as leader of Org1").And.Contain("stepped down as leader of Org2"));
    }

    private static string[] Names(JsonNode? array) => [.. array!.AsArray().Select(n => (string)n!)];

    private static async Task<(JsonNode Result, string Output)> RunAsync(CancellationToken cancellationToken, params string[] extra)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-firstnet-{Guid.NewGuid():N}.json");
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, UseShellExecute = false };
            start.ArgumentList.Add(LoadGenAssemblyPath());
            foreach (string arg in (string[])["firstnet", .. extra, "--json", json])
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            string output = await process.StandardOutput.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken);
            Assert.That(process.ExitCode, Is.Zero, output);
            return (JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!, output);
        }
        finally
        {
            File.Delete(json);
        }
    }

    private static string LoadGenAssemblyPath()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Engine.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "repository root not found");
        return Path.Combine(root!.FullName, "tools", "Engine.LoadGen", "bin", here.Parent!.Name, here.Name, "Engine.LoadGen.dll");
    }
}
