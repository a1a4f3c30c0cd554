using BenchmarkDotNet.Running;
using Engine.Benchmarks.Gate;

namespace Engine.Benchmarks;

internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "gate")
        {
            return GateRunner.Run(args[1..]);
        }

        if (args.Length > 0 && args[0] == "gate-scenario")
        {
            return ScenarioGate.Run(args[1..]);
        }

        var summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
        return summaries.Any(s => s.HasCriticalValidationErrors) ? 1 : 0;
    }
}
