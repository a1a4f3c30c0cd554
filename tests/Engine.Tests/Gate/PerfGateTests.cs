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

    private (int Code, string Output) RunGate(string? inject, params string[] extra)
    {
        string dll = BenchmarkAssemblyPath();
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { dll, "gate", "--filter", "AliveCodec", "--baseline", _baseline }.Concat(extra))
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
