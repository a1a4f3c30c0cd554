using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Loggers;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using Perfolizer.Horology;

namespace Engine.Benchmarks.Gate;

/// <summary>
/// The perf-regression gate. Runs every [Gated] benchmark class in-process with a short job, then judges each case:
/// allocations per operation must not exceed the baseline by an object, in two runs in a row; speed is the ratio of the case's mean to its class's
/// reference measured in the same run, and fails when it grows beyond the threshold twice in a row (a repeat confirms).
/// The threshold for one figure is the stated threshold plus twice the spread its baseline showed between two back-to-back
/// measurements (<c>--update-baseline</c> measures everything twice and keeps the slower ratio), so a figure that is noisy on
/// this machine is not failed for its noise, while an injected or real regression of several times its noise still is.
/// Usage: gate [--update-baseline] [--filter TEXT] [--baseline PATH] [--threshold 0.5] (with --filter, an update
/// re-measures the matching classes only and keeps every other entry)
/// </summary>
internal static class GateRunner
{
    public static int Run(string[] args)
    {
        bool update = args.Contains("--update-baseline");
        string? filter = Value(args, "--filter");
        string baselinePath = Value(args, "--baseline") ?? Path.Combine(FindRepoRoot(), "bench", "gate-baseline.json");
        double threshold = double.Parse(Value(args, "--threshold") ?? "0.5", CultureInfo.InvariantCulture);

        var types = typeof(GateRunner).Assembly.GetTypes()
            .Where(t => t.GetCustomAttribute<GatedAttribute>() is not null)
            .Where(t => filter is null || t.Name.Contains(filter, StringComparison.OrdinalIgnoreCase))
            .OrderBy(t => t.Name, StringComparer.Ordinal)
            .ToList();
        if (types.Count == 0)
        {
            Console.Error.WriteLine($"gate: no [Gated] benchmark class matches '{filter}'");
            return 2;
        }

        if (GateInjection.Active)
        {
            Console.WriteLine($"gate: regression injection is ON ({GateInjection.Variable}={Environment.GetEnvironmentVariable(GateInjection.Variable)})");
        }

        var baseline = GateBaseline.Load(baselinePath);
        var rows = new List<(string Name, GateEntry? Base, GateEntry Now, string Verdict)>();
        var measured = new Dictionary<string, GateEntry>(StringComparer.Ordinal);
        foreach (var type in types)
        {
            var first = Measure(type);
            foreach (var (name, now) in first)
            {
                measured[name] = now;
            }

            if (update)
            {
                // Twice, keeping the slower ratio and how far the two disagreed: the baseline carries its own noise.
                var again = Measure(type);
                foreach (var (name, a) in first)
                {
                    if (again.TryGetValue(name, out var b))
                    {
                        var slower = a.Ratio >= b.Ratio ? a : b;
                        double spread = Math.Round((Math.Max(a.Ratio, b.Ratio) / Math.Min(a.Ratio, b.Ratio)) - 1, 4);
                        measured[name] = slower with { AllocatedBytes = Math.Max(a.AllocatedBytes, b.AllocatedBytes), Spread = spread };
                    }
                }

                continue;
            }

            var suspects = first.Where(kv => Judge(baseline.Entries.GetValueOrDefault(kv.Key), kv.Value, threshold) is Verdict.SlowSuspect or Verdict.AllocRegression)
                .Select(kv => kv.Key).ToList();
            if (suspects.Count > 0)
            {
                Console.WriteLine($"gate: {string.Join(", ", suspects)} worse than baseline; repeating {type.Name} to confirm");
                var second = Measure(type);
                foreach (var name in suspects)
                {
                    // A verdict stands only if the repeat shows it too: the better of the two runs is reported, for speed and
                    // for allocations separately (a socket loop can pick up a one-off runtime allocation in one run; a real
                    // extra object per operation shows in both).
                    if (second.TryGetValue(name, out var again))
                    {
                        var now = measured[name];
                        measured[name] = now with
                        {
                            Ratio = Math.Min(now.Ratio, again.Ratio),
                            MeanNs = again.Ratio < now.Ratio ? again.MeanNs : now.MeanNs,
                            AllocatedBytes = Math.Min(now.AllocatedBytes, again.AllocatedBytes),
                        };
                    }
                }
            }
        }

        if (update)
        {
            // With --filter only the matching classes are re-measured; every other entry keeps its committed baseline.
            var entries = new SortedDictionary<string, GateEntry>(filter is null ? [] : baseline.Entries, StringComparer.Ordinal);
            foreach (var (name, entry) in measured)
            {
                entries[name] = entry;
            }

            baseline.Entries = entries;
            baseline.Machine = $"{Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version}";
            baseline.Updated = DateTime.UtcNow.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture);
            baseline.Save(baselinePath);
            Console.WriteLine($"gate: baseline written to {baselinePath} ({measured.Count} entries)");
            return 0;
        }

        int failures = 0;
        Console.WriteLine();
        Console.WriteLine($"Perf gate (speed = median / same-run reference; fails above +{threshold:P0} plus twice the baseline's own spread, confirmed by a repeat; allocations: any extra object per operation fails, confirmed by a repeat)");
        Console.WriteLine("| benchmark | baseline | now | change | verdict |");
        Console.WriteLine("|---|---|---|---|---|");
        foreach (var (name, now) in measured.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            var old = baseline.Entries.GetValueOrDefault(name);
            var verdict = Judge(old, now, threshold);
            string text = verdict switch
            {
                Verdict.Pass => "pass",
                Verdict.New => "pass",
                _ => "FAIL",
            };
            if (text == "FAIL")
            {
                failures++;
            }

            string baseText = old is null ? "(new)" : $"x{old.Ratio:F3} ±{old.Spread:P0}, {old.AllocatedBytes} B";
            string nowText = $"x{now.Ratio:F3}, {now.AllocatedBytes} B";
            string change = old is null ? "-" : $"{(now.Ratio / old.Ratio) - 1:+0.0%;-0.0%}, {now.AllocatedBytes - old.AllocatedBytes:+0;-0;0} B";
            string why = verdict switch
            {
                Verdict.AllocRegression => " (allocations)",
                Verdict.SlowSuspect => " (speed)",
                _ => "",
            };
            Console.WriteLine($"| {name} | {baseText} | {nowText} | {change}{why} | {text} |");
        }

        foreach (var missing in baseline.Entries.Keys.Where(k => !measured.ContainsKey(k) && (filter is null || k.Contains(filter, StringComparison.OrdinalIgnoreCase))))
        {
            Console.WriteLine($"gate: note: baseline entry {missing} was not measured (benchmark removed or renamed?)");
        }

        Console.WriteLine(failures == 0 ? "gate: PASSED" : $"gate: FAILED ({failures} regression(s))");
        return failures == 0 ? 0 : 1;
    }

    private enum Verdict
    {
        Pass,
        New,
        AllocRegression,
        SlowSuspect,
    }

    /// <summary>
    /// Bytes per operation below the smallest possible object (24 B on x64). Loops that cross threads (sockets) pick up
    /// runtime housekeeping (thread-pool and timer work) amortised over their operations: a fraction of a byte for small
    /// frames, up to ~10 B per operation for 64 KiB frames on a loaded machine, where an iteration holds few operations.
    /// One more object per operation — the regression this catches — always exceeds this.
    /// </summary>
    private const long AllocationNoiseBytes = 23;

    private static Verdict Judge(GateEntry? old, GateEntry now, double threshold)
    {
        if (old is null)
        {
            return Verdict.New;
        }

        if (now.AllocatedBytes > old.AllocatedBytes + AllocationNoiseBytes)
        {
            return Verdict.AllocRegression;
        }

        return now.Ratio > old.Ratio * (1 + threshold + (2 * old.Spread)) ? Verdict.SlowSuspect : Verdict.Pass;
    }

    private static Dictionary<string, GateEntry> Measure(Type type)
    {
        var job = Job.Default
            .WithToolchain(new InProcessEmitToolchain(TimeSpan.FromMinutes(5), logOutput: false))
            .WithLaunchCount(1)
            .WithWarmupCount(3)
            .WithIterationCount(9)
            .WithIterationTime(TimeInterval.FromMilliseconds(120))
            .WithId("Gate");
        var config = ManualConfig.CreateEmpty()
            .AddJob(job)
            .AddDiagnoser(MemoryDiagnoser.Default)
            .AddLogger(NullLogger.Instance)
            .WithOptions(ConfigOptions.DisableLogFile | ConfigOptions.JoinSummary);
        var info = BenchmarkConverter.TypeToBenchmarks(type, config);
        string? only = type.GetCustomAttribute<GatedAttribute>()!.Params;
        if (only is not null)
        {
            var cases = info.BenchmarksCases.Where(c => c.Parameters.Items.Any(p => $"{p.Name}={p.Value}" == only)).ToArray();
            info = new BenchmarkRunInfo(cases, info.Type, info.Config);
        }

        var summary = BenchmarkRunner.Run(info);

        var result = new Dictionary<string, GateEntry>(StringComparer.Ordinal);
        var references = summary.Reports
            .Where(r => r.BenchmarkCase.Descriptor.Baseline && r.ResultStatistics is not null)
            .ToDictionary(r => r.BenchmarkCase.Parameters.DisplayInfo, r => r.ResultStatistics!.Median);
        foreach (var report in summary.Reports)
        {
            if (report.BenchmarkCase.Descriptor.Baseline)
            {
                continue;
            }

            string name = Name(report);
            if (report.ResultStatistics is null || !references.TryGetValue(report.BenchmarkCase.Parameters.DisplayInfo, out double reference))
            {
                Console.Error.WriteLine($"gate: {name} produced no result (it failed to run)");
                result[name] = new GateEntry(double.PositiveInfinity, long.MaxValue, double.NaN);
                continue;
            }

            double median = report.ResultStatistics.Median;
            long allocated = report.GcStats.GetBytesAllocatedPerOperation(report.BenchmarkCase) ?? 0;
            result[name] = new GateEntry(Math.Round(median / reference, 4), allocated, Math.Round(median, 1));
        }

        if (result.Count == 0)
        {
            Console.Error.WriteLine($"gate: {type.Name} produced no results");
        }

        return result;
    }

    private static string Name(BenchmarkReport report)
    {
        var c = report.BenchmarkCase;
        string parameters = c.HasParameters ? $"({string.Join(",", c.Parameters.Items.Select(p => $"{p.Name}={p.Value}"))})" : "";
        return $"{c.Descriptor.Type.Name}.{c.Descriptor.WorkloadMethod.Name}{parameters}";
    }

    private static string? Value(string[] args, string name)
    {
        int i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
    }

    internal static string FindRepoRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Engine.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? Directory.GetCurrentDirectory();
    }
}
