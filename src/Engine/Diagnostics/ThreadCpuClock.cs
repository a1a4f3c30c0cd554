using System.Runtime.InteropServices;

namespace Engine.Diagnostics;

/// <summary>
/// The calling thread's CPU time in nanoseconds (Linux: <c>clock_gettime(CLOCK_THREAD_CPUTIME_ID)</c>, a vDSO call of a few
/// tens of ns). Unlike a wall-clock stopwatch it does not count time the thread spent preempted, so summed over threads it
/// is comparable with the process's CPU time. Elsewhere it falls back to the wall clock (<see cref="IsThreadCpuTime"/> is
/// false).
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ClockThreadCpuTimeId = 3;

    /// <summary>True when <see cref="NowNanoseconds"/> measures thread CPU time (Linux), false when it falls back to the wall clock.</summary>
    public static readonly bool IsThreadCpuTime = OperatingSystem.IsLinux() && Probe();

    public static long NowNanoseconds()
    {
        if (IsThreadCpuTime && ClockGetTime(ClockThreadCpuTimeId, out var spec) == 0)
        {
            return (spec.Seconds * 1_000_000_000L) + spec.Nanoseconds;
        }

        return (long)(System.Diagnostics.Stopwatch.GetTimestamp() * (1_000_000_000.0 / System.Diagnostics.Stopwatch.Frequency));
    }

    private static bool Probe()
    {
        try
        {
            return ClockGetTime(ClockThreadCpuTimeId, out _) == 0;
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
        {
            return false;
        }
    }

    [LibraryImport("libc", EntryPoint = "clock_gettime")]
    private static partial int ClockGetTime(int clockId, out TimeSpec spec);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
