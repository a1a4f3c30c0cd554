using System.CommandLine;
using Engine.LoadGen.Verbs;
using Spectre.Console;

namespace Engine.LoadGen;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // CI logs and pipes: no escape codes, no live display, lines wide enough for a summary table.
            AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = AnsiSupport.No,
                ColorSystem = ColorSystemSupport.NoColors,
                Interactive = InteractionSupport.No,
            });
            AnsiConsole.Console.Profile.Width = 160;
        }

        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("ledger heights over time in the blocks phase: the orderer's, a leader's, a follower's, and the killed peer's restart and catch-up");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(2));
        var isShort = new Option<bool>("--short") { Description = "the same phases, smaller and shorter (about 20 s): a smoke check" };
        var root = new RootCommand("Engine load generator: builds networks of Engine peers on loopback, drives them, and measures. "
            + "With no verb it runs the default scenario.")
        {
            json,
            plot,
            timeout,
            isShort,
            TransportVerb.Create(),
            MembershipVerb.Create(),
            GossipVerb.Create(),
            HostileVerb.Create(),
            FirstNetVerb.Create(),
            BlocksVerb.Create(),
        };
        root.SetAction((parse, ct) => DefaultScenario.RunAsync(parse.GetValue(json), parse.GetValue(plot), parse.GetValue(timeout), parse.GetValue(isShort), ct));
        // Ctrl-C (SIGINT) or SIGTERM cancels the run's token; the run then stops its peers (process peers: SIGTERM, up to 5 s
        // each, then a kill) and reports what it had. System.CommandLine's default grace of 2 s would end the process in the
        // middle of that.
        return root.Parse(args).Invoke(new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(30) });
    }
}
