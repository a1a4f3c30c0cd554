using System.CommandLine;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>The <c>firstnet</c> verb: the seed's first-network experiment replayed over real sockets on loopback.</summary>
internal static class FirstNetVerb
{
    public static Command Create()
    {
        var noBootstrap = new Option<bool>("--no-bootstrap") { Description = "start the peers without bootstrap peers (the seed's second run): every peer first leads its org" };
        var processes = new Option<bool>("--processes")
        {
            Description = "run the orderer and each peer as its own Engine.Peer OS process on loopback, driven and read through their admin ports "
                + "(commit times are not available then); all are stopped on exit, --timeout or Ctrl-C",
        };
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("for each peer, how many others it sees alive over the replay, each step marked");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(3));
        var command = new Command("firstnet", "The seed's first network: an orderer, Org1 and Org2 with peer0 and peer1 each, channel mychannel, over real sockets on "
            + "127.0.0.1 with Fabric's timings scaled down, step by step in the seed's order; prints after each step who is reachable, who leads each org and "
            + "each peer's channel view, and for each block whom the orderer delivered it to and when each peer committed it.")
        {
            noBootstrap, processes, json, plot, timeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var scenario = new FirstNetScenario(parse.GetValue(noBootstrap), parse.GetValue(processes));
            var result = await scenario.RunAsync(AnsiConsole.Console, cts.Token);
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, result.ToJson());
            }

            if (parse.GetValue(plot) is { } svg)
            {
                var (series, markers) = scenario.Curves();
                SvgChart.Write(svg, "Engine firstnet: the seed's first network replayed on loopback" + (parse.GetValue(noBootstrap) ? " (no bootstrap)" : "")
                    + (parse.GetValue(processes) ? ", one process per peer" : ""),
                    "seconds", "peers seen alive", series, markers);
            }

            return result.EndStateReached ? 0 : 1;
        });
        return command;
    }
}
