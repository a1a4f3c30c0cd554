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

    /// <summary>An integer option with a default and an inclusive range; a value outside it is an argument error naming the option.</summary>
    public static Option<int> Int(string name, string description, int defaultValue, int min, int max)
    {
        var option = new Option<int>(name) { Description = description, DefaultValueFactory = _ => defaultValue };
        option.Validators.Add(r =>
        {
            int v = r.GetValueOrDefault<int>();
            if (v < min || v > max)
            {
                r.AddError($"{name} must be between {min} and {max}, was {v}");
            }
        });
        return option;
    }

    /// <summary><c>--loss</c>: the in-memory network's datagram drop probability, in [0, 1).</summary>
    public static Option<double> Loss()
    {
        var loss = new Option<double>("--loss") { Description = "datagram drop probability of the in-memory network (memory only)", DefaultValueFactory = _ => 0 };
        loss.Validators.Add(r =>
        {
            double v = r.GetValueOrDefault<double>();
            if (v is < 0 or >= 1)
            {
                r.AddError($"--loss must be at least 0 and below 1, was {v}");
            }
        });
        return loss;
    }
}
