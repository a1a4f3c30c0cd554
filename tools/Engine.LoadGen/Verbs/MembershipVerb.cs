using System.CommandLine;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>The <c>membership</c> verb: discovery convergence, failure detection and steady-state cost for N peers.</summary>
internal static class MembershipVerb
{
    public static Command Create()
    {
        var peers = new Option<int>("--peers") { Description = "how many peers to run in this process", DefaultValueFactory = _ => 100 };
        peers.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

            if (v is < 2 or > 50_000)
            {
                r.AddError($"--peers must be between 2 and 50000, was {v}");
            }
        });
        var network = new Option<string>("--network")
        {
            Description = "udp: real sockets on loopback, one port pair per peer; memory: the in-memory network in virtual time",
            DefaultValueFactory = _ => "udp",
        };
        network.AcceptOnlyFromAmong("udp", "memory");
        var alive = new Option<int>("--alive-interval")
        {
            Description = "heartbeat period in ms (Fabric's aliveTimeInterval); expiry and re-probe are 5x this, as Fabric's defaults are",
            DefaultValueFactory = _ => 5000,
        };
        alive.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

            if (v is < 10 or > 600_000)
            {
                r.AddError($"--alive-interval must be between 10 and 600000 ms, was {v}");
            }
        });
        var kill = new Option<double>("--kill-fraction") { Description = "fraction of peers stopped after convergence", DefaultValueFactory = _ => 0.1 };
        kill.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out double v))
            {
                return;
            }

            if (v is < 0 or >= 1)
            {
                r.AddError($"--kill-fraction must be at least 0 and below 1, was {v}");
            }
        });
        var processes = new Option<bool>("--processes")
        {
            Description = "run each peer as its own Engine.Peer OS process on loopback (udp only, at most 200 peers); all are stopped on exit or Ctrl-C",
        };
        var signing = new Option<bool>("--signing")
        {
            Description = "give every peer a certificate: alive messages are signed and every received one verified; reports verifications per second and their CPU share (default off: pure transport/membership)",
        };
        var heartbeat = new Option<string>("--heartbeat")
        {
            Description = "how liveness spreads: fabric (flooded alive heartbeats, Fabric's way) or swim (SWIM-style probing with piggybacked changes)",
            DefaultValueFactory = _ => "fabric",
        };
        heartbeat.AcceptOnlyFromAmong("fabric", "swim");
        var probe = new Option<int>("--probe-interval")
        {
            Description = "swim: probe period in ms (the direct-ack timeout is half of it)",
            DefaultValueFactory = _ => 1000,
        };
        probe.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

            if (v is < 10 or > 60_000)
            {
                r.AddError($"--probe-interval must be between 10 and 60000 ms, was {v}");
            }
        });
        var logPeers = new Option<int>("--log-peers")
        {
            Description = "write the logs (information and up) of the first N peers to stderr, to follow what they see",
            DefaultValueFactory = _ => 0,
        };
        var latency = new Option<double?>("--latency")
        {
            Description = "memory: the network's one-way delay in ms (default 1); above 0, peers run side by side on --threads in windows of it, "
                + "with the same result whatever the thread count; 0: one event at a time, on one thread",
        };
        latency.Validators.Add(r =>
        {
            if (CommonOptions.TryGet(r, out double? v) && v is < 0 or > 1000)
            {
                r.AddError($"--latency must be between 0 and 1000 ms, was {v}");
            }
        });
        var threads = CommonOptions.Int("--threads", "memory with --latency: threads that run the peers' windows", Environment.ProcessorCount, 1, 64);
        var seed = new Option<int>("--seed") { Description = "seed for bootstrap choices, victims and the peers' random sources", DefaultValueFactory = _ => 1 };
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("convergence curves over time: peers with a complete view, peers that saw the stopped ones dead, peers that saw them back");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(10));

        var command = new Command("membership", "Discovery at scale: N peers bootstrap off each other; time to converge, time to detect stopped peers and to see them back after a restart, steady-state cost per peer.")
        {
            peers, network, alive, kill, processes, heartbeat, signing, probe, logPeers, latency, threads, seed, json, plot, timeout,
        };
        command.Validators.Add(r =>
        {
            if (r.GetValue(processes) && r.GetValue(network) == "memory")
            {
                r.AddError("--processes runs real OS processes on loopback sockets: it needs --network udp, not memory");
            }

            if (r.GetValue(processes) && r.GetValue(signing))
            {
                r.AddError("--signing runs the peers in this process; it cannot be combined with --processes");
            }

            if (r.GetValue(signing) && r.GetValue(heartbeat) == "swim")
            {
                r.AddError("--signing needs --heartbeat fabric: SWIM probes are not signed");
            }

            if (r.GetValue(processes) && r.GetValue(heartbeat) == "swim")
            {
                r.AddError("--heartbeat swim runs in this process only (the Engine.Peer processes take their mode from their configuration)");
            }

            if (r.GetValue(latency) is not null && r.GetValue(network) != "memory")
            {
                r.AddError("--latency is the in-memory network's delay: it needs --network memory (loopback sockets have their own)");
            }

            if (r.GetValue(processes) && r.GetValue(peers) > 200)
            {
                r.AddError($"--processes runs at most 200 peers (one OS process each), was {r.GetValue(peers)}");
            }
        });
        command.SetAction(async (parse, ct) =>
        {
            var settings = new MembershipRunSettings(parse.GetValue(peers), parse.GetValue(network) == "memory",
                TimeSpan.FromMilliseconds(parse.GetValue(alive)), parse.GetValue(kill), parse.GetValue(seed), parse.GetValue(processes), parse.GetValue(signing))
            {
                Swim = parse.GetValue(heartbeat) == "swim",
                LogPeers = parse.GetValue(logPeers),
                ProbeInterval = TimeSpan.FromMilliseconds(parse.GetValue(probe)),
                Latency = TimeSpan.FromMilliseconds(parse.GetValue(latency) ?? MembershipRunSettings.DefaultLatencyMs),
                Threads = parse.GetValue(threads),
            };
            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var scenario = new MembershipScenario(settings);
            var report = await scenario.RunAsync(AnsiConsole.Console, cts.Token);
            report.Print(AnsiConsole.Console);
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, report.ToJson());
            }

            if (parse.GetValue(plot) is { } svg)
            {
                SvgChart.Write(svg, $"Engine membership: {settings.Peers} peers ({(settings.Memory ? "memory" : "udp")})", "network time (s)",
                    "fraction of peers done",
                    [new ChartSeries("complete view", scenario.ConvergenceCurve), new ChartSeries("saw stopped peers dead", scenario.DetectionCurve),
                     new ChartSeries("saw restarted peers alive", scenario.RecoveryCurve)]);
            }

            var result = report.ToJson();
            return (bool)result["converged"]! ? 0 : 1;
        });
        return command;
    }
}
