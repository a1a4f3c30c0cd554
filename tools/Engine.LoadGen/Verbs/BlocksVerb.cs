using System.CommandLine;
using Engine.LoadGen.Output;
using Engine.Node;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>The <c>blocks</c> verb: an orderer streams B blocks to O orgs x P peers; commit latency, completeness, order, deliveries per block.</summary>
internal static class BlocksVerb
{
    public static Command Create()
    {
        var orgs = CommonOptions.Int("--orgs", "organisations (each with its own leader and delivery stream)", 2, 1, 64);
        var peersPerOrg = CommonOptions.Int("--peers-per-org", "peers per organisation", 50, 1, 1000);
        var blocks = CommonOptions.Int("--blocks", "blocks the orderer cuts", 1000, 1, 1_000_000);
        var blockSize = CommonOptions.Int("--block-size", "bytes of transactions per block (the first 8 are the cut time)", 65536, 8, 8 * 1024 * 1024);
        var rate = new Option<double>("--rate") { Description = "blocks cut per second", DefaultValueFactory = _ => 100 };
        rate.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out double v))
            {
                return;
            }

            if (v is <= 0 or > 100_000)
            {
                r.AddError($"--rate must be above 0 and at most 100000, was {v}");
            }
        });
        var loss = CommonOptions.Loss();
        var network = new Option<string>("--network")
        {
            Description = "udp: real sockets on loopback (UDP heartbeats, framed TCP for blocks); memory: the in-memory network in virtual time",
            DefaultValueFactory = _ => "udp",
        };
        network.AcceptOnlyFromAmong("udp", "memory");
        var window = CommonOptions.Int("--max-block-count-to-store", "blocks each peer keeps in memory to serve pull (Fabric's maxBlockCountToStore)", 10, 1, 100_000);
        var pullInterval = CommonOptions.Int("--pull-interval", "block pull period in ms (digest, request and response waits scale with it)", 4000, 10, 600_000);
        var restart = new Option<bool>("--restart-peer")
        {
            Description = "kill the last follower of the last org a quarter of the way in and restart it with an empty ledger halfway; it must catch up (state transfer)",
        };
        var lazyBlocks = new Option<bool>("--lazy-blocks")
        {
            Description = "announce blocks too large for a datagram and send them to the peers that ask (Engine's lazy block push); false: push sends each block whole to every target, as Fabric does",
            DefaultValueFactory = _ => true,
        };
        var relayFanout = new Option<int>("--relay-fanout")
        {
            Description = "Engine's block relay tree (gossip.blockRelayFanout; 4 here, off in the library): the leader sends each block to this many peers of its org, each naming the rest of its part, and so on (every peer receives a block once); 0: push, as --lazy-blocks says",
            DefaultValueFactory = _ => 4,
        };
        var archiveBlocks = new Option<int>("--archive-blocks")
        {
            Description = "committed blocks each peer keeps in memory to serve state transfer (LedgerOptions.ArchiveBlockCount; default 128 here, 1,000 in the library: "
                + "100 peers in one process would otherwise hold 6.4 GB of 64 KiB blocks, and touching that much fresh memory is what the run would measure); "
                + "with --restart-peer at least --blocks, so the restarted peer can catch up from block #1",
            DefaultValueFactory = _ => 128,
        };
        var noPretouch = new Option<bool>("--no-pretouch")
        {
            Description = "do not pre-touch each peer's ledger memory when it joins (LedgerOptions.PretouchBytes; by default here the archive's worth, "
                + "(--archive-blocks + the reorder buffer) x the block size, so the stream's first blocks do not pay first-touch page faults)",
        };
        var warmup = new Option<int>("--warmup-blocks")
        {
            Description = "blocks cut at the same rate, and committed everywhere, before the measured ones: not measured, not counted "
                + "(connections, compiled code and the relay tree are then those of a running network); default: 2 s of blocks at --rate; 0 measures from a cold start",
            DefaultValueFactory = _ => -1,
        };
        var heartbeat = new Option<string>("--heartbeat")
        {
            Description = "how liveness spreads: swim (default here: SWIM-style probing with piggybacked changes, 2 datagrams per peer per second) or fabric "
                + "(flooded alive heartbeats, Fabric's way and the library's default: every heartbeat floods both orgs, all of them in step, which at 2 x 50 peers and 100 blocks/s "
                + "costs ~0.2 cores and a ~170 ms stall every 5 s)",
            DefaultValueFactory = _ => "swim",
        };
        heartbeat.AcceptOnlyFromAmong("fabric", "swim");
        var seed = new Option<int>("--seed") { Description = "seed of the network and the peers' random sources", DefaultValueFactory = _ => 1 };
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("the commit latency CDF (cut to commit, every peer); with --restart-peer, ledger heights over time instead: the orderer's, a leader's, a follower's and the restarted peer's catch-up");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(10));
        var command = new Command("blocks", "Sustained blocks: an orderer and O orgs x P peers in one channel; B blocks of BYTES at RATE per second, delivered to "
            + "each org's leader and spread by push and pull; reports commit latency (cut to commit) p50/p99/max, completeness and order at every peer, "
            + "orderer deliveries per block and blocks repaired by pull.")
        {
            orgs, peersPerOrg, blocks, blockSize, rate, loss, network, window, pullInterval, restart, lazyBlocks, relayFanout, archiveBlocks, noPretouch, warmup, heartbeat, seed, json, plot, timeout,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(archiveBlocks) is < 0 or > 10_000_000)
            {
                r.AddError("--archive-blocks must be between 0 and 10,000,000");
            }

            if (r.GetValue(warmup) is < -1 or > 1_000_000)
            {
                r.AddError("--warmup-blocks must be between 0 and 1,000,000 (or -1: 2 s of blocks at --rate)");
            }

            if (r.GetValue(relayFanout) is < 0 or > 64)
            {
                r.AddError("--relay-fanout must be between 0 and 64");
            }

            if (r.GetValue(loss) > 0 && r.GetValue(network) != "memory")
            {
                r.AddError("--loss needs --network memory: loss is injected by the in-memory network");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var settings = new BlocksRunSettings(parse.GetValue(orgs), parse.GetValue(peersPerOrg), parse.GetValue(blocks), parse.GetValue(blockSize),
                parse.GetValue(rate), parse.GetValue(loss), parse.GetValue(network) == "memory", parse.GetValue(seed), parse.GetValue(window),
                TimeSpan.FromMilliseconds(parse.GetValue(pullInterval)), parse.GetValue(restart), parse.GetValue(lazyBlocks), parse.GetValue(relayFanout), parse.GetValue(archiveBlocks),
                !parse.GetValue(noPretouch), parse.GetValue(warmup) < 0 ? (int)Math.Ceiling(parse.GetValue(rate) * 2) : parse.GetValue(warmup),
                parse.GetValue(heartbeat) == "swim" ? HeartbeatMode.Swim : HeartbeatMode.Fabric);
            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var scenario = new BlocksScenario(settings);
            var report = await scenario.RunAsync(AnsiConsole.Console, cts.Token);
            report.Print(AnsiConsole.Console);
            var result = report.ToJson();
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, result);
            }

            if (parse.GetValue(plot) is { } svg)
            {
                string title = $"Engine blocks: {settings.Orgs} orgs x {settings.PeersPerOrg} peers, {settings.Blocks} blocks of {settings.BlockSize:N0} B at {settings.Rate}/s";
                if (settings.RestartPeer)
                {
                    var (series, markers) = scenario.HeightCurves();
                    SvgChart.Write(svg, title, "seconds after the first cut", "ledger height", series, markers);
                }
                else
                {
                    SvgChart.Write(svg, title, "commit latency, cut to commit (ms)", "fraction of commits", [new ChartSeries("commit latency CDF", scenario.LatencyCdf())]);
                }
            }

            bool restarted = !parse.GetValue(restart) || (bool)result["restart_caught_up"]!;
            return (bool)result["complete"]! && (bool)result["in_order"]! && restarted ? 0 : 1;
        });
        return command;
    }
}
