using System.Diagnostics;

namespace Engine.Tests.LoadGen;

/// <summary>
/// The load generator's command line as a user meets it, without running a scenario: every verb's --help names the
/// options every verb shares, and bad arguments stop it at once with a message naming the option.
/// </summary>
public sealed class LoadGenCommandLineTests
{
    private static async Task<(int Exit, string Output)> RunAsync(CancellationToken cancellationToken, params string[] args)
    {
        using var process = LoadGenProcessTests.StartLoadGen(redirectError: true, args);
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        return (process.ExitCode, await output + await error);
    }

    [TestCase("")]
    [TestCase("transport")]
    [TestCase("membership")]
    [TestCase("gossip")]
    [TestCase("hostile")]
    [TestCase("firstnet")]
    [TestCase("blocks")]
    [CancelAfter(60_000)]
    public async Task EveryVerb_HasHelp_WithJsonPlotAndATimeoutWithItsDefault(string verb, CancellationToken cancellationToken)
    {
        var (exit, output) = await RunAsync(cancellationToken, verb.Length == 0 ? ["--help"] : [verb, "--help"]);
        Assert.That(exit, Is.Zero, output);
        Assert.That(output, Does.Contain("--json").And.Contain("--plot").And.Contain("--timeout"), output);
        Assert.That(output, Does.Match(@"--timeout[^\n]*default \d\d:\d\d:\d\d"), "the timeout's default is stated");
        Assert.That(output, Does.Match(@"--plot[^\n]*SVG chart to this path: \w"), "--plot says which picture it draws");
    }

    [TestCase("membership --peers 1", "--peers must be between 2 and 50000, was 1")]
    [TestCase("membership --processes --network memory", "--processes runs real OS processes on loopback sockets: it needs --network udp")]
    [TestCase("membership --processes --peers 201", "--processes runs at most 200 peers")]
    [TestCase("membership --kill-fraction 1", "--kill-fraction must be at least 0 and below 1, was 1")]
    [TestCase("membership --latency 2", "--latency is the in-memory network's delay: it needs --network memory")]
    [TestCase("membership --network memory --latency -1", "--latency must be between 0 and 1000 ms, was -1")]
    [TestCase("membership --network memory --threads 0", "--threads must be between 1 and 64, was 0")]
    [TestCase("gossip --loss 0.1", "--loss needs --network memory")]
    [TestCase("gossip --mode flood", "flood")]
    [TestCase("blocks --rate 0", "--rate must be above 0 and at most 100000, was 0")]
    [TestCase("blocks --orgs 0", "--orgs must be between 1 and 64, was 0")]
    [TestCase("transport --seconds -1", "--seconds must be above 0 and at most 3600")]
    [TestCase("hostile --rounds 0", "--rounds must be between 1 and 1000, was 0")]
    [TestCase("firstnet --timeout -00:00:05", "--timeout must be positive")]
    [TestCase("--timeout 0", "--timeout must be positive")]
    [TestCase("--timeout soon", "soon")]
    [TestCase("transport --peers 5", "--peers")]
    [TestCase("nosuchverb", "nosuchverb")]
    [CancelAfter(60_000)]
    public async Task BadArguments_StopAtOnce_NamingTheOption(string arguments, string expected, CancellationToken cancellationToken)
    {
        var watch = Stopwatch.StartNew();
        var (exit, output) = await RunAsync(cancellationToken, arguments.Split(' '));
        Assert.That(exit, Is.Not.Zero, output);
        Assert.That(output, Does.Contain(expected));
        Assert.That(output, Does.Not.Contain("   at "), "no stack trace");
        Assert.That(output, Does.Not.Contain("Engine default scenario"), "nothing ran");
        Assert.That(watch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(30)), "refused at once, not after a run");
    }

    [Test]
    [CancelAfter(60_000)]
    public async Task TransportSizeTooLargeForADatagram_IsRefusedWithExitCode2(CancellationToken cancellationToken)
    {
        var (exit, output) = await RunAsync(cancellationToken, "transport", "--mode", "udp", "--size", "70000");
        Assert.That(exit, Is.EqualTo(2), output);
        Assert.That(output, Does.Contain("--size 70000 does not fit in one UDP datagram"));
    }
}
