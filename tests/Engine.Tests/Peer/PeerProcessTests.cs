using System.Text.RegularExpressions;

namespace Engine.Tests.Peer;

/// <summary>The peer as an operator runs it: a real OS process.</summary>
[Category("Sockets")]
public sealed class PeerProcessTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Test]
    [CancelAfter(30_000)]
    public async Task BadConfiguration_StopsThePeerAtStart_WithExitCode2_AndTheKeyNamed(CancellationToken cancellationToken)
    {
        using var peer = PeerProcess.Start("--set", "gossip.aliveTimeInterval=5", "--set", "gossip.noSuchKey=1");
        int exit = await peer.WaitForExitAsync(Deadline, cancellationToken);
        Assert.That(exit, Is.EqualTo(2), peer.Error);
        Assert.That(peer.Error, Does.Contain("--set: gossip.aliveTimeInterval: '5' has no unit"));
        Assert.That(peer.Error, Does.Contain("--set: gossip.noSuchKey: unknown key"));
        Assert.That(peer.Error + peer.Output, Does.Not.Contain("   at "), "no stack trace");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TwoPeerProcesses_DiscoverEachOther_AndStopCleanlyOnSigtermAndSigint(CancellationToken cancellationToken)
    {
        using var first = PeerProcess.Start([.. Sets(PeerHostTests.FastLoopback), "--set", "peer.id=first"]);
        var firstAdmin = await first.AdminEndpointAsync(Deadline, cancellationToken);
        var firstStatus = await Engine.Peer.Admin.AdminClient.GetStatusAsync(firstAdmin, cancellationToken);

        using var second = PeerProcess.Start([.. Sets(PeerHostTests.FastLoopback), "--set", "peer.id=second",
            "--set", $"gossip.bootstrap={firstStatus.Endpoint}", "--log-format", "json"]);
        var secondAdmin = await second.AdminEndpointAsync(Deadline, cancellationToken);

        // The operator's view: `status --peer` against the first shows the second alive.
        string table = await StatusUntilAsync(firstAdmin, "alive", cancellationToken);
        Assert.That(table, Does.Contain("Peer first of org Org1 at " + firstStatus.Endpoint));
        Assert.That(table, Does.Match(@"Membership view: 1 alive, 0 dead"));

        // A process started with SIGINT ignored (a background job of a non-interactive shell) passes that on to its
        // children, and the .NET runtime then leaves SIGINT ignored in them: only then is the second peer sent SIGTERM too.
        bool sigint = !SigIntIgnoredHere();
        first.Signal("TERM");
        second.Signal(sigint ? "INT" : "TERM");
        Assert.That(await first.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, first.Error);
        Assert.That(await second.WaitForExitAsync(Deadline, cancellationToken), Is.Zero, second.Error);

        Assert.That(first.Output, Does.Match(@"Peer first stopping: SIGTERM received"));
        Assert.That(first.Output, Does.Match(@"Peer first stopped after \d+\.\ds: 1 alive and 0 dead members in view; aliveSent=\d+, aliveReceived=\d+"));
        Assert.That(first.Output, Does.Contain("Admin port on " + firstAdmin + " closed after"));
        Assert.That(second.Output, Does.Contain($"\"Message\":\"Peer second stopping: {(sigint ? "SIGINT" : "SIGTERM")} received\""), "JSON log lines");
        Assert.That(second.Output, Does.Contain("\"EventId\":9003"));
        Assert.That(second.Output.Split('\n').Where(l => l.Length > 0), Has.All.StartWith("{"), "every line is JSON");
        _ = secondAdmin;
    }

    /// <summary>True when this process ignores SIGINT (bit 2 of SigIgn in /proc/self/status), which its children inherit.</summary>
    private static bool SigIntIgnoredHere()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }

    private static IEnumerable<string> Sets(IEnumerable<string> sets) => sets.SelectMany(s => new[] { "--set", s });

    private static async Task<string> StatusUntilAsync(Engine.Transport.PeerEndpoint admin, string state, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Deadline;
        string text = "";
        while (DateTime.UtcNow < deadline)
        {
            var output = new StringWriter();
            var error = new StringWriter();
            int exit = await Engine.Peer.Program.BuildCommand(output, error).Parse(["status", "--peer", admin.ToString()]).InvokeAsync(
                new System.CommandLine.InvocationConfiguration { Output = output, Error = error, ProcessTerminationTimeout = null }, cancellationToken);
            Assert.That(exit, Is.Zero, error.ToString());
            text = output.ToString();
            if (Regex.IsMatch(text, @"^\s+" + state + @"\s+127\.0\.0\.1:", RegexOptions.Multiline))
            {
                return text;
            }

            await Task.Delay(50, cancellationToken); // polling interval, not a wait for an outcome
        }

        Assert.Fail($"no {state} member within {Deadline}:\n{text}");
        return text;
    }
}
