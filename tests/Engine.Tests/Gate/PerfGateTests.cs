using System.Diagnostics;

namespace Engine.Tests.Gate;

/// <summary>
/// Tests of the perf gate itself: against a baseline measured moments before, an injected regression (an extra allocation,
/// an added delay) makes the gate fail, and without injection it passes. The gate runs as its own process, as in CI.
/// </summary>
[Category("Gate")]
[NonParallelizable]
public sealed class PerfGateTests
{
    private string _baseline = "";

    [OneTimeSetUp]
    public void MeasureBaseline()
    {
        _baseline = Path.Combine(Path.GetTempPath(), $"engine-gate-test-{Environment.ProcessId}.json");
        var (code, output) = RunGate(null, "--update-baseline");
        Assert.That(code, Is.Zero, output);
        Assert.That(File.Exists(_baseline), Is.True, output);
    }

    [OneTimeTearDown]
    public void Cleanup() => File.Delete(_baseline);

    [Test]
    [CancelAfter(120_000)]
    public void PassesWithoutInjection()
    {
        var (code, output) = RunGate(null);
        Assert.That(code, Is.Zero, output);
        Assert.That(output, Does.Contain("| AliveCodecBenchmarks.EncodeDecode |").And.Contain("gate: PASSED"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void FailsOnAnInjectedAllocation()
    {
        var (code, output) = RunGate("alloc");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("(allocations) | FAIL |"));
    }

    [Test]
    [CancelAfter(120_000)]
    public void FailsOnAnInjectedDelay()
    {
        var (code, output) = RunGate("delay");
        Assert.That(code, Is.EqualTo(1), output);
        Assert.That(output, Does.Contain("(speed) | FAIL |"));
    }

    [Test]
    [CancelAfter(60_000)]
    public void ScenarioGateIsExactAndFailsOnAWorseFigureOrAFailedFlag()
    {
        string dir = Path.Combine(Path.GetTempPath(), $"engine-scenario-gate-{Environment.ProcessId}");
        Directory.CreateDirectory(dir);
        try
        {
            string run = Path.Combine(dir, "run.json");
            string baseline = Path.Combine(dir, "baseline.json");
            const string Good = """{"converged":true,"detected":true,"recovered":true,"convergence_ms":4000,"detection_ms":27000,"recovery_ms":3000,"false_deaths":0,"datagrams_per_peer_per_s":3.2,"bytes_per_peer_per_s":800}""";
            File.WriteAllText(run, Good);
            Assert.That(RunProcess(null, "gate-scenario", "--name", "m", "--json", run, "--baseline", baseline, "--update-baseline").Code, Is.Zero);

            var same = RunProcess(null, "gate-scenario", "--name", "m", "--json", run, "--baseline", baseline);
            Assert.That(same.Code, Is.Zero, same.Output);
            Assert.That(same.Output, Does.Contain("| m.convergence_ms | 4000 | 4000 | 0% | pass |"));

            File.WriteAllText(run, Good.Replace("\"convergence_ms\":4000", "\"convergence_ms\":4100", StringComparison.Ordinal));
            var worse = RunProcess(null, "gate-scenario", "--name", "m", "--json", run, "--baseline", baseline);
            Assert.That(worse.Code, Is.EqualTo(1), worse.Output);
            Assert.That(worse.Output, Does.Contain("| m.convergence_ms | 4000 | 4100 | +2.50% | FAIL |"));

            File.WriteAllText(run, Good.Replace("\"detected\":true", "\"detected\":false", StringComparison.Ordinal));
            var undetected = RunProcess(null, "gate-scenario", "--name", "m", "--json", run, "--baseline", baseline);
            Assert.That(undetected.Code, Is.EqualTo(1), undetected.Output);
            Assert.That(undetected.Output, Does.Contain("| m.detected | true | false | - | FAIL |"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private (int Code, string Output) RunGate(string? inject, params string[] extra) =>
        RunProcess(inject, ["gate", "--filter", "AliveCodec", "--baseline", _baseline, .. extra]);

    private static (int Code, string Output) RunProcess(string? inject, params string[] arguments)
    {
        string dll = BenchmarkAssemblyPath();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll }.Concat(arguments))
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment.Remove("ENGINE_GATE_INJECT");
        if (inject is not null)
        {
            start.Environment["ENGINE_GATE_INJECT"] = inject;
        }

        using var process = Process.Start(start)!;
        var stderr = process.StandardError.ReadToEndAsync();
        string stdout = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return (process.ExitCode, stdout + stderr.Result);
    }

    private static string BenchmarkAssemblyPath()
    {
        // The test assembly sits in tests/Engine.Tests/bin/<Configuration>/net10.0; the benchmarks build beside it.
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string framework = here.Name;
        string configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Engine.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "repository root not found");
        string path = Path.Combine(root!.FullName, "bench", "Engine.Benchmarks", "bin", configuration, framework, "Engine.Benchmarks.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} is not built");
        return path;
    }
}
