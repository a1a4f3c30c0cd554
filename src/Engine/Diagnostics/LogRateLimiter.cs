namespace Engine.Diagnostics;

/// <summary>
/// Lets at most one log line through per interval for a category of event, and counts what it held back, so a flood of
/// bad input (or an unreachable peer retried forever) cannot flood the log. Thread-safe and allocation-free.
/// </summary>
internal sealed class LogRateLimiter
{
    private readonly TimeProvider _time;
    private readonly long _intervalTicks;
    private long _nextAllowedTimestamp;
    private long _suppressed;

    public LogRateLimiter(TimeProvider time, TimeSpan interval)
    {
        _time = time;
        _intervalTicks = (long)(interval.TotalSeconds * time.TimestampFrequency);
        _nextAllowedTimestamp = long.MinValue;
    }

    /// <summary>
    /// Returns true when a line may be written now; <paramref name="suppressed"/> is how many were held back since the last one.
    /// </summary>
    public bool TryAcquire(out long suppressed)
    {
        long now = _time.GetTimestamp();
        long next = Volatile.Read(ref _nextAllowedTimestamp);
        if (now >= next && Interlocked.CompareExchange(ref _nextAllowedTimestamp, now + _intervalTicks, next) == next)
        {
            suppressed = Interlocked.Exchange(ref _suppressed, 0);
            return true;
        }

        Interlocked.Increment(ref _suppressed);
        suppressed = 0;
        return false;
    }
}
