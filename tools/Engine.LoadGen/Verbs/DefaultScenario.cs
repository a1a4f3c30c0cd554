using System.Globalization;
using System.Text.Json.Nodes;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// What the load generator runs with no arguments: a short tour of Engine on loopback that finishes by itself and ends
/// with one summary table. It grows with the engine: today, the transport at the three sizes the targets name, then 50 gossip
/// peers on loopback sockets that discover each other, lose 5 of their number, and see them come back after a restart,
/// then two orgs in a channel: the seed's first network replayed, and 200 blocks streamed to 2 orgs x 5 peers, one of which
/// is killed a quarter of the way in and restarted with an empty ledger halfway: it catches up by state transfer.
/// <c>--short</c> runs the same phases smaller (tests, smoke checks).
/// </summary>
internal static class DefaultScenario
{
    private static readonly (string Mode, int Size)[] Runs = [("udp", 200), ("tcp", 256), ("tcp", 65536)];

    /// <summary>The sizes of one run: the full default, or the reduced <c>--short</c> form of the same phases.</summary>
    private sealed record Scale(double TransportSeconds, int MembershipPeers, int PeersPerOrg, int Blocks)
    {
        public static readonly Scale Full = new(3, 50, 5, 200);
        public static readonly Scale Short = new(1, 10, 3, 80);
    }

    public static async Task<int> RunAsync(string? jsonPath, string? plotPath, TimeSpan timeout, bool isShort, CancellationToken cancellationToken)
    {
        var scale = isShort ? Scale.Short : Scale.Full;
        var console = AnsiConsole.Console;
        string seconds = scale.TransportSeconds.ToString("0.#", CultureInfo.InvariantCulture);
        console.MarkupLine($"[bold]Engine default scenario{(isShort ? " (short)" : "")}[/] — transport over loopback: UDP 200 B datagrams, TCP 256 B and 64 KiB frames ({seconds} s each); "
            + $"then membership: {scale.MembershipPeers} peers on loopback, 10% killed and restarted; then channels: the first network, and {scale.Blocks} blocks to "
            + $"2 orgs x {scale.PeersPerOrg} peers, one killed and restarted with an empty ledger while they flow");
        using var cts = CommonOptions.Bound(timeout, cancellationToken);
        var summary = new Table().Title("Engine default scenario: summary").AddColumn("phase").AddColumn("result")
            .AddColumn(new TableColumn("figure").RightAligned());
        var results = new JsonArray();
        foreach (var (mode, size) in Runs)
        {
            if (cts.IsCancellationRequested)
            {
                break;
            }

            var report = await new TransportScenario(mode, size, scale.TransportSeconds).RunAsync(console, cts.Token);
            var json = report.ToJson();
            results.Add(json);
            summary.AddRow($"transport {mode} {size:N0} B", "measured",
                $"{(double)json["messages_per_s"]!:N0} msg/s, {(double)json["mbytes_per_s"]!:N1} MB/s"
                + (json["alloc_bytes_per_msg"] is { } a ? $", {(double)a:N3} B alloc/msg" : ""));
        }

        JsonObject? membership = null, firstnet = null, blocks = null;
        bool healthy = results.Count == Runs.Length;
        if (!cts.IsCancellationRequested)
        {
            var settings = new MembershipRunSettings(Peers: scale.MembershipPeers, Memory: false, AliveInterval: TimeSpan.FromMilliseconds(500), KillFraction: 0.1, Seed: 1);
            var report = await new MembershipScenario(settings).RunAsync(console, cts.Token);
            report.Print(console);
            membership = report.ToJson();
            bool ok = (bool)membership["converged"]! && (bool)membership["detected"]! && (bool)membership["recovered"]!;
            healthy &= ok;
            summary.AddRow($"membership, {scale.MembershipPeers} peers", Verdict(ok),
                $"converged {Ms(membership["convergence_ms"])}, {membership["killed"]} stopped seen dead {Ms(membership["detection_ms"])}, back {Ms(membership["recovery_ms"])}");
        }

        if (!cts.IsCancellationRequested)
        {
            var replay = await new FirstNetScenario(noBootstrap: false).RunAsync(console, cts.Token);
            firstnet = replay.ToJson();
            healthy &= replay.EndStateReached;
            summary.AddRow("first network (2 orgs, anchors)", Verdict(replay.EndStateReached), $"{replay.Steps.Count} steps, one leader per org, full channel views");
        }

        BlocksScenario? blocksRun = null;
        if (!cts.IsCancellationRequested)
        {
            var settings = new BlocksRunSettings(Orgs: 2, PeersPerOrg: scale.PeersPerOrg, Blocks: scale.Blocks, BlockSize: 4096, Rate: 50, Loss: 0, Memory: false, Seed: 1,
                Window: 10, PullInterval: TimeSpan.FromSeconds(4), RestartPeer: true, RelayFanout: 4);
            blocksRun = new BlocksScenario(settings);
            var report = await blocksRun.RunAsync(console, cts.Token);
            report.Print(console);
            blocks = report.ToJson();
            bool flowed = (bool)blocks["complete"]! && (bool)blocks["in_order"]! && (bool)blocks["all_at_final_height"]!;
            bool caughtUp = (bool)blocks["restart_caught_up"]!;
            healthy &= flowed && caughtUp;
            summary.AddRow($"blocks, 2 orgs x {scale.PeersPerOrg} peers", Verdict(flowed),
                $"{scale.Blocks} blocks everywhere in order, commit p50 {Ms(blocks["commit_p50_ms"])}, p99 {Ms(blocks["commit_p99_ms"])}");
            summary.AddRow($"  {blocks["restarted_peer"]} killed, restarted empty", Verdict(caughtUp),
                $"{blocks["restart_state_blocks"]} blocks by state transfer, caught up in {Ms(blocks["restart_catch_up_ms"])}");
        }

        bool timedOut = cts.IsCancellationRequested;
        healthy &= !timedOut;
        if (timedOut)
        {
            summary.AddRow("run", "[red]STOPPED[/]", $"{(cancellationToken.IsCancellationRequested ? "interrupted" : $"--timeout {timeout} reached")}; the phases above are what it had");
        }

        summary.Caption(healthy ? "[green]every phase passed[/]" : "[red]a phase failed (see above)[/]");
        console.Write(summary);

        if (jsonPath is not null)
        {
            RunReport.WriteJson(jsonPath, new JsonObject
            {
                ["short"] = isShort,
                ["healthy"] = healthy,
                ["timed_out"] = timedOut,
                ["transport"] = results,
                ["membership"] = membership,
                ["firstnet"] = firstnet,
                ["blocks"] = blocks,
            });
        }

        if (plotPath is not null && blocksRun is not null)
        {
            var (series, markers) = blocksRun.HeightCurves();
            SvgChart.Write(plotPath, $"Engine default scenario: ledger heights, 2 orgs x {scale.PeersPerOrg} peers, a peer killed and restarted empty",
                "seconds after the first cut", "ledger height", series, markers);
        }

        return healthy ? 0 : 1;
    }

    private static string Verdict(bool ok) => ok ? "[green]ok[/]" : "[red]FAILED[/]";

    private static string Ms(JsonNode? ms) => ms is null ? "n/a" : (double)ms < 10_000 ? $"{(double)ms:N0} ms" : $"{(double)ms / 1000:N1} s";
}
