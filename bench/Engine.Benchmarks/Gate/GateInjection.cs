namespace Engine.Benchmarks.Gate;

/// <summary>
/// A deliberate regression, switched on only by the gate's own test through ENGINE_GATE_INJECT ("alloc" or "delay"),
/// to prove the gate fails when it should. Gated benchmarks call <see cref="Apply"/> once per operation; when the variable is
/// unset this is a read of a static readonly field that the JIT folds away.
/// </summary>
internal static class GateInjection
{
    public const string Variable = "ENGINE_GATE_INJECT";

    private static readonly string? Mode = Environment.GetEnvironmentVariable(Variable);
    private static readonly bool Allocate = Mode == "alloc";
    private static readonly bool Delay = Mode == "delay";

    private static object? _sink;

    public static void Apply()
    {
        if (Allocate)
        {
            _sink = new byte[32];
        }

        if (Delay)
        {
            Thread.SpinWait(100);
        }
    }

    public static bool Active => Allocate || Delay;

    public static object? Sink => _sink;
}
