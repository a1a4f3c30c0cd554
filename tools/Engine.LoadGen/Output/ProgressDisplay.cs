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

        var running = work();
        while (!running.IsCompleted)
        {
            await Task.WhenAny(running, Task.Delay(1000)).ConfigureAwait(false);
            var s = snapshot();
            string figures = string.Join("  ", s.Figures.Select(f => $"{f.Label} {f.Value}"));
            console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"[{(DateTime.UtcNow - started).TotalSeconds,6:F1}s] {s.Phase}  {figures}"));
        }

        await running.ConfigureAwait(false);
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
