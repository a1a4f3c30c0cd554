using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Benchmarks.Gate;

/// <summary>
/// The gate's exact half: a load-generator run that is deterministic for its seed (the in-memory network in virtual time)
/// writes its JSON, and each figure where lower is better (convergence time, detection time, datagrams and bytes per peer)
/// must not exceed the committed value in <c>bench/gate-scenarios.json</c>; each flag (converged, detected) must hold.
/// A figure below its baseline passes and says so: update the baseline to lock the improvement in.
/// Usage: gate-scenario --name NAME --json RUN.json [--baseline PATH] [--update-baseline]
/// </summary>
internal static class ScenarioGate
{
    /// <summary>Figures compared exactly, lower is better.</summary>
    private static readonly string[] LowerIsBetter =
        ["convergence_ms", "detection_ms", "false_deaths", "datagrams_per_peer_per_s", "bytes_per_peer_per_s"];

    /// <summary>Flags that must be true.</summary>
    private static readonly string[] MustHold = ["converged", "detected"];

    private static readonly JsonSerializerOptions Indented = new() { WriteIndented = true };

    public static int Run(string[] args)
    {
        string? name = Value(args, "--name");
        string? runPath = Value(args, "--json");
        if (name is null || runPath is null)
        {
            Console.Error.WriteLine("gate-scenario: --name NAME and --json RUN.json are required");
            return 2;
        }

        string baselinePath = Value(args, "--baseline") ?? Path.Combine(GateRunner.FindRepoRoot(), "bench", "gate-scenarios.json");
        JsonObject run;
        try
        {
            run = JsonNode.Parse(File.ReadAllText(runPath))?.AsObject() ?? throw new JsonException("empty document");
        }
        catch (Exception e) when (e is IOException or JsonException or InvalidOperationException or UnauthorizedAccessException)
        {
            Console.Error.WriteLine($"gate-scenario: cannot read the run's JSON {runPath}: {e.Message}");
            return 2;
        }

        var all = File.Exists(baselinePath) ? JsonNode.Parse(File.ReadAllText(baselinePath))!.AsObject() : [];
        if (args.Contains("--update-baseline"))
        {
            var entry = new JsonObject();
            foreach (string key in LowerIsBetter.Concat(MustHold).Where(run.ContainsKey))
            {
                entry[key] = run[key]?.DeepClone();
            }

            all[name] = entry;
            File.WriteAllText(baselinePath, all.ToJsonString(Indented) + "\n");
            Console.WriteLine($"gate-scenario: baseline for {name} written to {baselinePath}");
            return 0;
        }

        var baseline = all[name] as JsonObject;
        Console.WriteLine();
        Console.WriteLine($"Scenario gate: {name} (deterministic for its seed; exact: lower is better, flags must hold)");
        Console.WriteLine("| figure | baseline | now | change | verdict |");
        Console.WriteLine("|---|---|---|---|---|");
        int failures = 0;
        foreach (string key in MustHold)
        {
            bool now = run[key] is JsonValue v && v.TryGetValue(out bool b) && b;
            failures += now ? 0 : 1;
            Console.WriteLine($"| {name}.{key} | true | {(now ? "true" : "false")} | - | {(now ? "pass" : "FAIL")} |");
        }

        foreach (string key in LowerIsBetter)
        {
            double? now = Number(run[key]);
            double? old = Number(baseline?[key]);
            string verdict;
            string change = "-";
            if (now is null)
            {
                verdict = "FAIL";
                failures++;
            }
            else if (old is null)
            {
                verdict = "pass";
            }
            else
            {
                change = old.Value == 0 ? (now.Value == 0 ? "0%" : "+inf") : ((now.Value / old.Value) - 1).ToString("+0.00%;-0.00%;0%", CultureInfo.InvariantCulture);
                verdict = now.Value <= old.Value ? "pass" : "FAIL";
                failures += verdict == "FAIL" ? 1 : 0;
                if (now.Value < old.Value)
                {
                    change += " (better: update the baseline)";
                }
            }

            Console.WriteLine($"| {name}.{key} | {Text(old)} | {Text(now)} | {change} | {verdict} |");
        }

        if (baseline is null)
        {
            Console.WriteLine($"gate-scenario: note: no baseline for {name} in {baselinePath}; record one with --update-baseline");
        }

        Console.WriteLine(failures == 0 ? "gate-scenario: PASSED" : $"gate-scenario: FAILED ({failures} regression(s))");
        return failures == 0 ? 0 : 1;
    }

    private static double? Number(JsonNode? node) =>
        node is JsonValue v && v.TryGetValue(out double d) && double.IsFinite(d) ? d : null;

    private static string Text(double? value) => value is null ? "(none)" : value.Value.ToString("0.###", CultureInfo.InvariantCulture);

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }
}
