using System.Text.Json.Nodes;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// What the load generator runs with no arguments: a short tour of Engine on loopback that finishes by itself and prints
/// one summary table. It grows with the engine: today, the transport at the three sizes the targets name, then 50 gossip
/// peers on loopback sockets that discover each other, lose 5 of their number, and see them come back after a restart,
/// then two orgs in a channel: the seed's first network replayed, and 200 blocks streamed to 2 orgs x 5 peers, one of which
/// is killed a quarter of the way in and restarted with an empty ledger halfway: it catches up by state transfer.
/// </summary>
internal static class DefaultScenario
{
    private static readonly (string Mode, int Size)[] Runs = [("udp", 200), ("tcp", 256), ("tcp", 65536)];

    public static async Task<int> RunAsync(string? jsonPath, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var console = AnsiConsole.Console;
        console.MarkupLine("[bold]Engine default scenario[/] — transport over loopback: UDP 200 B datagrams, TCP 256 B and 64 KiB frames (3 s each); then membership: 50 peers on loopback, 5 killed and restarted; then channels: the first network, and 200 blocks to 2 orgs x 5 peers, one killed and restarted with an empty ledger while they flow");
        using var cts = CommonOptions.Bound(timeout, cancellationToken);
        var table = new Table().Title("Engine on this machine").AddColumn("run").AddColumn(new TableColumn("messages/s").RightAligned())
            .AddColumn(new TableColumn("MB/s").RightAligned()).AddColumn(new TableColumn("alloc B/msg").RightAligned());
        var results = new JsonArray();
        foreach (var (mode, size) in Runs)
        {
            if (cts.IsCancellationRequested)
            {
                break;
            }

            var report = await new TransportScenario(mode, size, 3).RunAsync(console, cts.Token);
            var json = report.ToJson();
            results.Add(json);
            table.AddRow($"transport {mode} {size} B", $"{(double)json["messages_per_s"]!:N0}", $"{(double)json["mbytes_per_s"]!:N1}",
                json["alloc_bytes_per_msg"] is { } a ? $"{(double)a:N3}" : "n/a");
        }

        console.Write(table);

        JsonObject? membership = null;
        bool healthy = true;
        if (!cts.IsCancellationRequested)
        {
            var settings = new MembershipRunSettings(Peers: 50, Memory: false, AliveInterval: TimeSpan.FromMilliseconds(500), KillFraction: 0.1, Seed: 1);
            var report = await new MembershipScenario(settings).RunAsync(console, cts.Token);
            report.Print(console);
            membership = report.ToJson();
            healthy = (bool)membership["converged"]! && (bool)membership["detected"]! && (bool)membership["recovered"]!;
        }

        JsonObject? firstnet = null, blocks = null;
        if (!cts.IsCancellationRequested)
        {
            var replay = await new FirstNetScenario(noBootstrap: false).RunAsync(console, cts.Token);
            firstnet = replay.ToJson();
            healthy &= replay.EndStateReached;
        }

        if (!cts.IsCancellationRequested)
        {
            var settings = new BlocksRunSettings(Orgs: 2, PeersPerOrg: 5, Blocks: 200, BlockSize: 4096, Rate: 50, Loss: 0, Memory: false, Seed: 1,
                Window: 10, PullInterval: TimeSpan.FromSeconds(4), RestartPeer: true);
            var report = await new BlocksScenario(settings).RunAsync(console, cts.Token);
            report.Print(console);
            blocks = report.ToJson();
            healthy &= (bool)blocks["complete"]! && (bool)blocks["in_order"]! && (bool)blocks["all_at_final_height"]! && (bool)blocks["restart_caught_up"]!;
        }

        if (jsonPath is not null)
        {
            RunReport.WriteJson(jsonPath, new JsonObject { ["transport"] = results, ["membership"] = membership, ["firstnet"] = firstnet, ["blocks"] = blocks });
        }

        return healthy ? 0 : 1;
    }
}
