using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Engine.Tests.LoadGen;

/// <summary>
/// The load generator's <c>--processes</c> mode as an operator runs it: 5 Engine.Peer OS processes on loopback converge,
/// detect a crashed one, see it back after a restart, and none is left behind — neither after a normal exit nor after the
/// load generator itself is killed.
/// </summary>
[Category("Sockets")]
[NonParallelizable]
public sealed class LoadGenProcessTests
{
    [Test]
    [CancelAfter(120_000)]
    public async Task Five_peer_processes_converge_detect_recover_and_none_is_left_behind(CancellationToken cancellationToken)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-loadgen-{Guid.NewGuid():N}.json");
        try
        {
            using var loadgen = StartLoadGen("membership", "--processes", "--peers", "5", "--alive-interval", "300", "--kill-fraction", "0.2",
                "--timeout", "00:01:30", "--json", json);
            string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await loadgen.WaitForExitAsync(cancellationToken);
            Assert.That(loadgen.ExitCode, Is.Zero, output);

            var result = JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!;
            Assert.That((bool)result["processes"]!, Is.True);
            Assert.That((bool)result["converged"]!, Is.True, output);
            Assert.That((bool)result["detected"]!, Is.True, output);
            Assert.That((bool)result["recovered"]!, Is.True, output);
            Assert.That((long)result["false_deaths"]!, Is.Zero, output);
            Assert.That(PeersLaunchedBy(loadgen.Id), Is.Empty, "no Engine.Peer process outlives the load generator");
        }
        finally
        {
            File.Delete(json);
        }
    }

    /// <summary>
    /// The default scenario (what the load generator runs with no arguments) in its reduced form, <c>--short</c>: the same
    /// phases and checks with fewer peers, blocks and seconds — transport, membership with peers killed and restarted, the
    /// first network, and blocks to two orgs with a peer killed and restarted with an empty ledger — then one summary table,
    /// the JSON and the picture.
    /// </summary>
    [Test]
    [CancelAfter(150_000)]
    public async Task The_default_scenario_in_its_short_form_passes_every_phase_and_ends_with_a_summary_table_json_and_plot(CancellationToken cancellationToken)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-default-{Guid.NewGuid():N}.json");
        string svg = Path.ChangeExtension(json, ".svg");
        try
        {
            var watch = Stopwatch.StartNew();
            using var loadgen = StartLoadGen("--short", "--json", json, "--plot", svg);
            string output = await loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await loadgen.WaitForExitAsync(cancellationToken);
            Assert.That(loadgen.ExitCode, Is.Zero, output);
            Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromMinutes(2)), "within the default --timeout");
            Assert.That(output, Does.Contain("membership: 10 peers, udp network"));
            string summary = output[output.LastIndexOf("Engine default scenario: summary", StringComparison.Ordinal)..];
            Assert.That(summary, Does.Contain("transport udp 200 B").And.Contain("membership, 10 peers").And.Contain("first network")
                .And.Contain("blocks, 2 orgs x 3 peers").And.Contain("killed, restarted empty").And.Contain("every phase passed"), output);
            Assert.That(summary, Does.Not.Contain("FAILED"), output);
            Assert.That(output, Does.Not.Contain("\u001b["), "no escape codes when the output is not a terminal");

            var result = JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!;
            Assert.That((bool)result["short"]! && (bool)result["healthy"]! && !(bool)result["timed_out"]!, Is.True, output);
            var transport = result["transport"]!.AsArray();
            Assert.That(transport, Has.Count.EqualTo(3));
            Assert.That(transport.Select(t => (double)t!["messages_per_s"]!), Has.All.GreaterThan(0));
            var membership = result["membership"]!;
            Assert.That((long)membership["peers"]!, Is.EqualTo(10));
            Assert.That((long)membership["killed"]!, Is.EqualTo(1));
            Assert.That((bool)membership["converged"]! && (bool)membership["detected"]! && (bool)membership["recovered"]!, Is.True, output);
            Assert.That((bool)result["firstnet"]!["end_state_reached"]!, Is.True, output);
            var blocks = result["blocks"]!;
            Assert.That((long)blocks["orgs"]!, Is.EqualTo(2));
            Assert.That((bool)blocks["complete"]! && (bool)blocks["in_order"]!, Is.True, output);
            Assert.That((bool)blocks["all_at_final_height"]!, Is.True, output);
            Assert.That((bool)blocks["restart_caught_up"]!, Is.True, "the peer killed and restarted with an empty ledger caught up: " + output);
            Assert.That((long)blocks["restart_state_blocks"]!, Is.GreaterThan(0), output);

            string picture = await File.ReadAllTextAsync(svg, cancellationToken);
            Assert.That(picture, Does.StartWith("<svg").And.Contain("ledger height").And.Contain("orderer (blocks cut)")
                .And.Contain("killed, restarted empty").And.Contain("stroke-dasharray"), "heights over time, the kill and the restart marked");
            Assert.That(System.Text.RegularExpressions.Regex.Count(picture, "<polyline"), Is.GreaterThanOrEqualTo(3));
        }
        finally
        {
            File.Delete(json);
            File.Delete(svg);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Peers_stop_by_themselves_when_the_load_generator_is_killed(CancellationToken cancellationToken)
    {
        using var loadgen = StartLoadGen("membership", "--processes", "--peers", "3", "--alive-interval", "300", "--kill-fraction", "0",
            "--timeout", "00:01:30");
        int pid = loadgen.Id;

        // Wait until all 3 peers run, then kill the load generator outright (no chance to clean up).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (PeersLaunchedBy(pid).Count < 3)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the 3 peer processes did not start");
            Assert.That(loadgen.HasExited, Is.False, "the load generator ended before its peers ran");
            await Task.Delay(50, cancellationToken);
        }

        loadgen.Kill();
        await loadgen.WaitForExitAsync(cancellationToken);

        // Each peer watches its launcher (--parent-pid) twice a second and stops cleanly when it is gone.
        deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (PeersLaunchedBy(pid).Count > 0)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"peers still running 20 s after their launcher died: {string.Join(", ", PeersLaunchedBy(pid))}");
            await Task.Delay(100, cancellationToken);
        }
    }

    [Test]
    [CancelAfter(120_000)]
    public async Task Ctrl_C_stops_the_run_and_every_peer_process_and_reports_what_it_had(CancellationToken cancellationToken)
    {
        string json = Path.Combine(Path.GetTempPath(), $"engine-loadgen-int-{Guid.NewGuid():N}.json");
        try
        {
            using var loadgen = StartLoadGen("membership", "--processes", "--peers", "3", "--alive-interval", "300", "--kill-fraction", "0",
                "--timeout", "00:01:30", "--json", json);
            int pid = loadgen.Id;
            var output = loadgen.StandardOutput.ReadToEndAsync(cancellationToken);
            await WaitUntilLaunchedAsync(loadgen, 3, "the 3 peer processes", cancellationToken);
            await CtrlCAsync(loadgen, cancellationToken);
            string text = await output;
            Assert.That(PeersLaunchedBy(pid), Is.Empty, "every peer process was stopped before the load generator exited: " + text);
            Assert.That(File.Exists(json), Is.True, "it reports what it had: " + text);
            var result = JsonNode.Parse(await File.ReadAllTextAsync(json, cancellationToken))!;
            Assert.That((bool)result["processes"]!, Is.True);
            Assert.That((long)result["peers"]!, Is.EqualTo(3));
        }
        finally
        {
            File.Delete(json);
        }
    }

    internal static Process StartLoadGen(params string[] args) => StartLoadGen(redirectError: false, args);

    internal static Process StartLoadGen(bool redirectError, params string[] args)
    {
        // Through env(1), which resets SIGINT to its default and then becomes dotnet (same pid): a test run started as a
        // background job of a non-interactive shell inherits SIGINT ignored, .NET then keeps it ignored (as it should),
        // and the Ctrl-C tests could not reach the load generator.
        var start = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = redirectError,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("--default-signal=INT");
        start.ArgumentList.Add("dotnet");
        start.ArgumentList.Add(LoadGenAssemblyPath());
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        return Process.Start(start)!;
    }

    /// <summary>Engine.Peer processes whose command line names <paramref name="launcher"/> as their parent (Linux /proc).</summary>
    /// <summary>Waits (at most 60 s) until <paramref name="loadgen"/> has launched <paramref name="count"/> Engine.Peer processes.</summary>
    internal static async Task WaitUntilLaunchedAsync(Process loadgen, int count, string what, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (PeersLaunchedBy(loadgen.Id).Count < count)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"{what} did not start");
            Assert.That(loadgen.HasExited, Is.False, $"the load generator ended before {what} ran");
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>
    /// Ctrl-C: SIGINT to the load generator alone (a terminal sends it to the whole group; this is the harder case), then
    /// waits at most 30 s for it to exit.
    /// </summary>
    internal static async Task CtrlCAsync(Process loadgen, CancellationToken cancellationToken)
    {
        using (var kill = Process.Start(new ProcessStartInfo("kill", ["-INT", loadgen.Id.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false })!)
        {
            await kill.WaitForExitAsync(cancellationToken);
            Assert.That(kill.ExitCode, Is.Zero);
        }

        using var exited = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        exited.CancelAfter(TimeSpan.FromSeconds(30));
        await loadgen.WaitForExitAsync(exited.Token);
    }

    internal static List<int> PeersLaunchedBy(int launcher)
    {
        string marker = "--parent-pid\0" + launcher.ToString(CultureInfo.InvariantCulture) + "\0";
        var found = new List<int>();
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid))
            {
                continue;
            }

            try
            {
                string cmdline = File.ReadAllText(Path.Combine(dir, "cmdline"));
                if (cmdline.Contains("Engine.Peer", StringComparison.Ordinal) && cmdline.Contains(marker, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
                // The process ended while we looked.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }

        return found;
    }

    private static string LoadGenAssemblyPath()
    {
        var here = new DirectoryInfo(AppContext.BaseDirectory);
        string framework = here.Name;
        string configuration = here.Parent!.Name;
        var root = here;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Engine.sln")))
        {
            root = root.Parent;
        }

        Assert.That(root, Is.Not.Null, "repository root not found");
        string path = Path.Combine(root!.FullName, "tools", "Engine.LoadGen", "bin", configuration, framework, "Engine.LoadGen.dll");
        Assert.That(File.Exists(path), Is.True, $"{path} is not built");
        return path;
    }
}
