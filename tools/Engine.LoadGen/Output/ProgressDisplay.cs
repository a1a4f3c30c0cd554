using System.Globalization;
using Spectre.Console;

namespace Engine.LoadGen.Output;

/// <summary>A snapshot of a running scenario: the phase and a few live figures.</summary>
internal readonly record struct ProgressSnapshot(string Phase, IReadOnlyList<(string Label, string Value)> Figures);

/// <summary>
/// Shows progress while a scenario runs: a live Spectre.Console panel on a terminal, plain timestamped lines (one a second)
/// when the output is redirected, as in CI logs.
/// </summary>
internal static class ProgressDisplay
{
    public static async Task RunAsync(IAnsiConsole console, Func<ProgressSnapshot> snapshot, Func<Task> work)
    {
        var started = DateTime.UtcNow;
        if (console.Profile.Capabilities.Interactive && !Console.IsOutputRedirected)
        {
            var table = Render(snapshot(), TimeSpan.Zero);
            await console.Live(table).AutoClear(true).StartAsync(async ctx =>
            {
                var task = work();
                while (!task.IsCompleted)
                {
                    await Task.WhenAny(task, Task.Delay(250)).ConfigureAwait(false);
                    ctx.UpdateTarget(Render(snapshot(), DateTime.UtcNow - started));
                }

                await task.ConfigureAwait(false);
            }).ConfigureAwait(false);
            return;
        }

        // Plain lines straight to stdout (cheap, and nothing lazily initialised in the middle of a measurement window).
        var running = work();
        WritePlain(snapshot(), started);
        while (!running.IsCompleted)
        {
            await Task.WhenAny(running, Task.Delay(1000)).ConfigureAwait(false);
            WritePlain(snapshot(), started);
        }

        await running.ConfigureAwait(false);
    }

    private static void WritePlain(ProgressSnapshot s, DateTime started)
    {
        var line = new System.Text.StringBuilder(128);
        line.Append(CultureInfo.InvariantCulture, $"[{(DateTime.UtcNow - started).TotalSeconds,6:F1}s] {s.Phase}");
        foreach (var (label, value) in s.Figures)
        {
            line.Append("  ").Append(label).Append(' ').Append(value);
        }

        Console.Out.WriteLine(line.ToString());
    }

    private static Table Render(ProgressSnapshot s, TimeSpan elapsed)
    {
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"[bold]{Markup.Escape(s.Phase)}[/]  [grey]{elapsed.TotalSeconds:F1}s[/]")
            .AddColumn("").AddColumn(new TableColumn("").RightAligned());
        table.ShowHeaders = false;
        foreach (var (label, value) in s.Figures)
        {
            table.AddRow(Markup.Escape(label), Markup.Escape(value));
        }

        return table;
    }
}
