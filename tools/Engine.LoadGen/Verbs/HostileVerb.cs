using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>
/// The <c>hostile</c> verb: a 10-peer network with its generated crypto material (signed messages, mutual TLS on sockets)
/// and an attacker performing every attack of the security issue; per attack the attempts, how many the peers refused,
/// and whether any peer's state changed (must be false), and the peers' memory growth over the attacks.
/// </summary>
internal static class HostileVerb
{
    public static Command Create()
    {
        var rounds = new Option<int>("--rounds") { Description = "how many times each attack is repeated (message attacks: per peer)", DefaultValueFactory = _ => 5 };
        rounds.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

            if (v is < 1 or > 1000)
            {
                r.AddError($"--rounds must be between 1 and 1000, was {v}");
            }
        });
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("per attack, the attempts and how many the peers refused (equal bars: every attempt refused)");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(5));
        var command = new Command("hostile", "Every attack of the security issue against a 10-peer signed, mutual-TLS network: per attack attempts, refused, state changed (must be no), and memory growth.")
        {
            rounds, json, plot, timeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var (results, growthMb, ok) = await RunAsync(AnsiConsole.Console, parse.GetValue(rounds), cts.Token);
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, ToJson(results, growthMb));
            }

            if (parse.GetValue(plot) is { } svg)
            {
                SvgChart.WriteBars(svg, $"Engine hostile: {results.Count} attacks, {results.Count(r => r.StateChanged)} changed a peer's state", "attempts",
                    ["attempts", "refused", "state changed (attempts)"],
                    [.. results.Select(r => new BarGroup($"{r.Name} ({r.Network})", [r.Attempts, r.Refused, r.StateChanged ? r.Attempts : 0]))]);
            }

            return ok ? 0 : 1;
        });
        return command;
    }

    /// <summary>Runs both phases; false when a network did not converge, an attack was not fully refused, or any state changed.</summary>
    public static async Task<(List<AttackResult> Results, double MemoryGrowthMb, bool Ok)> RunAsync(IAnsiConsole console, int rounds, CancellationToken cancellationToken)
    {
        console.MarkupLine("[bold]hostile[/]: 10 peers (8 of Org1, 2 of Org2; channel ch1 is Org1's) with crypto material generated for the run, signed messages; "
            + "message attacks on the in-memory network (virtual time), connection attacks on loopback sockets with mutual TLS");
        using var material = HostileMaterial.Create();
        var results = new List<AttackResult>();
        bool converged = false;
        long baseline = 0;
        long after = 0;
        string phase = "starting the networks";
        ProgressSnapshot Snapshot()
        {
            AttackResult[] done;
            lock (results)
            {
                done = [.. results];
            }

            return new ProgressSnapshot(phase, [
                ("attacks done", done.Length.ToString(CultureInfo.InvariantCulture)),
                ("attempts", done.Sum(r => r.Attempts).ToString("N0", CultureInfo.InvariantCulture)),
                ("refused", done.Sum(r => r.Refused).ToString("N0", CultureInfo.InvariantCulture)),
                ("state changed", done.Count(r => r.StateChanged).ToString(CultureInfo.InvariantCulture)),
            ]);
        }

        await ProgressDisplay.RunAsync(console, Snapshot, () => Task.Run(async () =>
        {
            await using var memory = new HostileMemoryAttacks(material);
            await using var sockets = new HostileSocketAttacks(material);
            converged = await memory.StartAsync(cancellationToken) & await sockets.StartAsync(cancellationToken);
            baseline = Settled();
            if (converged)
            {
                phase = "attacking over the in-memory network";
                var fromMemory = memory.Run(rounds);
                lock (results)
                {
                    results.AddRange(fromMemory);
                }

                phase = "attacking over sockets";
                var fromSockets = await sockets.RunAsync(Math.Max(1, Math.Min(rounds, 5)), cancellationToken);
                lock (results)
                {
                    results.AddRange(fromSockets);
                }
            }

            after = Settled();
            phase = "stopping the networks";
        }, CancellationToken.None));

        double growthMb = (after - baseline) / (1024.0 * 1024.0);
        var table = new Table().Title("hostile: every attack refused, nothing changed").AddColumn("attack").AddColumn("network")
            .AddColumn(new TableColumn("attempts").RightAligned()).AddColumn(new TableColumn("refused").RightAligned()).AddColumn("state changed").AddColumn("what");
        foreach (var r in results)
        {
            table.AddRow(r.Name, r.Network, r.Attempts.ToString("N0", CultureInfo.InvariantCulture), r.Refused.ToString("N0", CultureInfo.InvariantCulture),
                r.StateChanged ? "YES" : "no", Markup.Escape(r.How));
        }

        console.Write(table);
        console.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"memory growth over the attacks (managed heap after full GC): {growthMb:F2} MB"));
        bool ok = converged && results.Count > 0 && results.All(r => !r.StateChanged && r.Refused >= r.Attempts);
        if (!converged)
        {
            console.MarkupLine("[red]a network did not converge before the attacks[/]");
        }

        return (results, growthMb, ok);
    }

    public static JsonObject ToJson(IEnumerable<AttackResult> results, double growthMb)
    {
        var attacks = new JsonArray();
        foreach (var r in results)
        {
            attacks.Add(new JsonObject
            {
                ["name"] = r.Name,
                ["attempts"] = r.Attempts,
                ["refused"] = r.Refused,
                ["state_changed"] = r.StateChanged,
                ["network"] = r.Network,
            });
        }

        return new JsonObject { ["attacks"] = attacks, ["memory_growth_mb"] = Math.Round(growthMb, 3) };
    }

    private static long Settled()
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        return GC.GetTotalMemory(forceFullCollection: true);
    }
}
