namespace Engine.Transport.Tcp;

/// <summary>
/// One periodic timer per manager checks every connection: idle ones close, quiet ones get a keepalive, and ones stuck
/// in the middle of a frame (or before their handshake) close.
/// </summary>
internal sealed partial class TcpConnectionManager
{
    private static readonly TimeSpan MinSweepInterval = TimeSpan.FromMilliseconds(5);

    private ITimer? _sweepTimer;
    private int _sweeping;

    /// <summary>How often connections are checked: a quarter of the shortest deadline it enforces.</summary>
    internal TimeSpan SweepInterval
    {
        get
        {
            var shortest = Options.IdleTimeout / 3 < Options.FrameReadTimeout ? Options.IdleTimeout / 3 : Options.FrameReadTimeout;
            var interval = shortest / 4;
            return interval < MinSweepInterval ? MinSweepInterval : interval;
        }
    }

    private void StartSweep() =>
        _sweepTimer = Time.CreateTimer(static state => ((TcpConnectionManager)state!).Sweep(), this, SweepInterval, SweepInterval);

    private void StopSweep() => _sweepTimer?.Dispose();

    internal void Sweep()
    {
        // Timer callbacks can overlap when a sweep runs long; one at a time is enough.
        if (Interlocked.Exchange(ref _sweeping, 1) == 1)
        {
            return;
        }

        try
        {
            long now = Time.GetTimestamp();
            long idle = ToTimestampTicks(Options.IdleTimeout);
            long keepalive = ToTimestampTicks(Options.IdleTimeout / 3);
            long frameRead = ToTimestampTicks(Options.FrameReadTimeout);
            foreach (var entry in _all)
            {
                entry.Value.Sweep(now, idle, keepalive, frameRead);
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    private long ToTimestampTicks(TimeSpan span) => (long)(span.TotalSeconds * Time.TimestampFrequency);
}
