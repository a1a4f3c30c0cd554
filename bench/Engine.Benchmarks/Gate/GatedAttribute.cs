namespace Engine.Benchmarks.Gate;

/// <summary>
/// Marks a benchmark class the CI perf gate runs. The class must have exactly one <c>[Benchmark(Baseline = true)]</c> method:
/// the reference (a memcpy or raw-socket loop of the same size) measured in the same run, against which the others are judged.
/// </summary>
[AttributeUsage(AttributeTargets.Class, Inherited = false)]
internal sealed class GatedAttribute : Attribute
{
    /// <summary>
    /// When set, the gate runs only the parameter cases with exactly this parameter value (for example <c>Members=100000</c>):
    /// a class whose full parameter sweep is too slow for CI is gated on one representative size.
    /// </summary>
    public string? Params { get; init; }
}
