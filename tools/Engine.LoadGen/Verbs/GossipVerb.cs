using System.CommandLine;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>The <c>gossip</c> verb: M messages published from random peers of N; time until everywhere, latency, duplicates, bytes.</summary>
internal static class GossipVerb
{
    public static Command Create()
    {
        var peers = CommonOptions.Int("--peers", "how many peers to run in this process", 100, 2, 10_000);
        var messages = CommonOptions.Int("--messages", "how many messages to publish, each from a random peer", 1000, 1, 1_000_000);
        var size = CommonOptions.Int("--size", "bytes of application data per message (above about 1,300 they travel in frames, not datagrams)", 1024, 4, 1 << 20);
        var mode = new Option<string>("--mode") { Description = "push, pull or both (Fabric: both)", DefaultValueFactory = _ => "both" };
        mode.AcceptOnlyFromAmong("push", "pull", "both");
        var loss = CommonOptions.Loss();
        var network = new Option<string>("--network")
        {
            Description = "udp: real sockets on loopback, one port pair per peer; memory: the in-memory network in virtual time",
            DefaultValueFactory = _ => "udp",
        };
        network.AcceptOnlyFromAmong("udp", "memory");
        var rate = CommonOptions.Int("--rate", "messages published per second of network time", 1000, 1, 1_000_000);
        var pullInterval = CommonOptions.Int("--pull-interval", "pull period in ms (Fabric's pullInterval; digest, request and response waits scale with it)", 4000, 10, 600_000);
        var fanout = CommonOptions.Int("--fanout", "peers each message is pushed to by each peer (Fabric's propagatePeerNum)", 3, 1, 256);
        var lazy = CommonOptions.Int("--lazy", "peers each new message's digest is also announced to (Engine's lazy push; 0 = Fabric's push alone)", 3, 0, 256);
        var lazyGrace = CommonOptions.Int("--lazy-grace", "ms a peer waits for push to bring an announced message before asking for it (GossipOptions.LazyPushGrace)", (int)new Engine.Node.GossipOptions().LazyPushGrace.TotalMilliseconds, 1, 60_000);
        var alive = CommonOptions.Int("--alive-interval", "heartbeat period in ms while the peers find each other and during the run (Fabric: 5000)", 5000, 10, 600_000);
        var seed = new Option<int>("--seed") { Description = "seed for publishers, bootstrap choices, the network and the peers' random sources", DefaultValueFactory = _ => 1 };
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("the delivery latency CDF (publish to delivery, every message at every peer)");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(10));

        var command = new Command("gossip", "Dissemination: N peers, M messages of SIZE bytes published from random peers; time until every message is at every peer, delivery latency p50/p99/max, duplicate ratio, bytes per peer.")
        {
            peers, messages, size, mode, loss, network, rate, pullInterval, fanout, lazy, lazyGrace, alive, seed, json, plot, timeout,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(loss) > 0 && r.GetValue(network) != "memory")
            {
                r.AddError("--loss needs --network memory: loss is injected by the in-memory network, real sockets on loopback lose only what they lose");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var settings = new GossipRunSettings(parse.GetValue(peers), parse.GetValue(messages), parse.GetValue(size), parse.GetValue(mode)!,
                parse.GetValue(loss), parse.GetValue(network) == "memory", parse.GetValue(rate), TimeSpan.FromMilliseconds(parse.GetValue(pullInterval)),
                TimeSpan.FromMilliseconds(parse.GetValue(alive)), parse.GetValue(fanout), parse.GetValue(seed), parse.GetValue(lazy), parse.GetValue(lazyGrace));
            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var scenario = new GossipScenario(settings);
            var report = await scenario.RunAsync(AnsiConsole.Console, cts.Token);
            report.Print(AnsiConsole.Console);
            var result = report.ToJson();
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, result);
            }

            if (parse.GetValue(plot) is { } svg)
            {
                SvgChart.Write(svg, $"Engine gossip: {settings.Peers} peers, {settings.Messages} messages, {settings.Mode}, {(settings.Memory ? $"memory, {settings.Loss:P0} loss" : "udp")}",
                    "delivery latency (ms)", "fraction of deliveries", [new ChartSeries("latency CDF", scenario.LatencyCdf())]);
            }

            return (bool)result["complete"]! && (long)result["delivered_twice"]! == 0 ? 0 : 1;
        });
        return command;
    }
}
