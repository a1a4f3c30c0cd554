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
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(2));
        var root = new RootCommand("Engine load generator: builds networks of Engine peers on loopback, drives them, and measures. "
            + "With no verb it runs the default scenario.")
        {
            json,
            timeout,
            TransportVerb.Create(),
            MembershipVerb.Create(),
            GossipVerb.Create(),
            HostileVerb.Create(),
            FirstNetVerb.Create(),
            BlocksVerb.Create(),
        };
        root.SetAction((parse, ct) => DefaultScenario.RunAsync(parse.GetValue(json), parse.GetValue(timeout), ct));
        return root.Parse(args).Invoke();
    }
}
