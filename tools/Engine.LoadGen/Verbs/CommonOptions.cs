using System.CommandLine;
using System.CommandLine.Parsing;

namespace Engine.LoadGen.Verbs;

/// <summary>Options every verb shares.</summary>
internal static class CommonOptions
{
    public static Option<string?> Json() => new("--json") { Description = "write the results as JSON to this path" };

    public static Option<string?> Plot(string picture) => new("--plot") { Description = $"write an SVG chart to this path: {picture}" };

    public static Option<TimeSpan> Timeout(TimeSpan defaultValue)
    {
        var option = new Option<TimeSpan>("--timeout")
        {
            Description = $"stop by itself after this long and report what it has (hh:mm:ss; default {defaultValue})",
            DefaultValueFactory = _ => defaultValue,
        };
        option.Validators.Add(r =>
        {
            if (!CommonOptions.TryGet(r, out TimeSpan v))
            {
                return;
            }

            if (v <= TimeSpan.Zero)
            {
                r.AddError($"--timeout must be positive, was {v}");
            }
        });
        return option;
    }

    /// <summary>
    /// The option's value for a validator, or false when the text did not parse (e.g. <c>--timeout soon</c>): System.CommandLine
    /// reports that error itself, naming the option, and a validator asking for the value would throw instead.
    /// </summary>
    public static bool TryGet<T>(OptionResult result, out T value)
    {
        try
        {
            value = result.GetValueOrDefault<T>()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            value = default!;
            return false;
        }
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
            if (!CommonOptions.TryGet(r, out int v))
            {
                return;
            }

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
            if (!CommonOptions.TryGet(r, out double v))
            {
                return;
            }

            if (v is < 0 or >= 1)
            {
                r.AddError($"--loss must be at least 0 and below 1, was {v}");
            }
        });
        return loss;
    }
}
