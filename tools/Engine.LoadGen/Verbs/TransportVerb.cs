using System.CommandLine;
using System.Text.Json.Nodes;
using Engine.LoadGen.Output;
using Spectre.Console;

namespace Engine.LoadGen.Verbs;

/// <summary>The <c>transport</c> verb: raw transport throughput over loopback through Engine's own sockets.</summary>
internal static class TransportVerb
{
    public static Command Create()
    {
        var mode = new Option<string>("--mode") { Description = "udp (datagrams) or tcp (framed stream)", DefaultValueFactory = _ => "udp" };
        mode.AcceptOnlyFromAmong("udp", "tcp");
        var size = new Option<int>("--size") { Description = "payload bytes per message", DefaultValueFactory = _ => 200 };
        size.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

            if (v is < 1 or > 16 * 1024 * 1024)
            {
                r.AddError($"--size must be between 1 and {16 * 1024 * 1024} bytes, was {v}");
            }
        });
        var seconds = new Option<double>("--seconds") { Description = "how long to measure", DefaultValueFactory = _ => 5 };
        seconds.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out double v))
            {
                return;
            }

            if (v is <= 0 or > 3600)
            {
                r.AddError($"--seconds must be above 0 and at most 3600, was {v}");
            }
        });
        var json = CommonOptions.Json();
        var plot = CommonOptions.Plot("messages per second received over time");
        var timeout = CommonOptions.Timeout(TimeSpan.FromMinutes(2));

        var command = new Command("transport", "Measure Engine's transport over loopback: a sender blasts datagrams or frames at a receiver.")
        {
            mode, size, seconds, json, plot, timeout,
        };
        command.SetAction(async (parse, ct) =>
        {
            string m = parse.GetValue(mode)!;
            int s = parse.GetValue(size);
            if (m == "udp" && s > Engine.Transport.DatagramHeader.MaxUdpPayload - Engine.Transport.DatagramHeader.Size)
            {
                AnsiConsole.MarkupLine($"[red]--size {s} does not fit in one UDP datagram[/]");
                return 2;
            }

            using var cts = CommonOptions.Bound(parse.GetValue(timeout), ct);
            var scenario = new TransportScenario(m, s, parse.GetValue(seconds));
            var report = await scenario.RunAsync(AnsiConsole.Console, cts.Token);
            report.Print(AnsiConsole.Console);
            if (parse.GetValue(json) is { } path)
            {
                RunReport.WriteJson(path, report.ToJson());
            }

            if (parse.GetValue(plot) is { } svg)
            {
                SvgChart.Write(svg, $"Engine transport: {m}, {s} B payloads", "seconds", "messages/s received", [new ChartSeries("received", scenario.Throughput)]);
            }

            return 0;
        });
        return command;
    }

    internal static JsonObject Wrap(RunReport report) => report.ToJson();
}
