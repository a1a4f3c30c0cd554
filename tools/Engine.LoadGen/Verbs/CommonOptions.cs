using System.CommandLine;

namespace Engine.LoadGen.Verbs;

/// <summary>Options every verb shares.</summary>
internal static class CommonOptions
{
    public static Option<string?> Json() => new("--json") { Description = "write the results as JSON to this path" };

    public static Option<string?> Plot() => new("--plot") { Description = "write a chart of the run as SVG to this path" };

    public static Option<TimeSpan> Timeout(TimeSpan defaultValue)
    {
        var option = new Option<TimeSpan>("--timeout")
        {
            Description = $"stop by itself after this long and report what it has (hh:mm:ss; default {defaultValue})",
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(r =>
        {
            var v = r.GetValueOrDefault<TimeSpan>();
            if (v <= TimeSpan.Zero)
            {
                r.AddError($"--timeout must be positive, was {v}");
            }
        });
        return option;
    }

    /// <summary>A token cancelled by Ctrl-C (the parent) or when the run's time budget is spent.</summary>
    public static CancellationTokenSource Bound(TimeSpan timeout, CancellationToken parent)
    {
        var cts = CancellationTokenSource.CreateLinkedTokenSource(parent);
        cts.CancelAfter(timeout);
        return cts;
    }
}
