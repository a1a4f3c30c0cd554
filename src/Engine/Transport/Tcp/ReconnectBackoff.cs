namespace Engine.Transport.Tcp;

/// <summary>
/// Reconnect delay for one peer whose connect failed: starts at <see cref="TransportOptions.ReconnectBackoffInitial"/>,
/// doubles per consecutive failure up to <see cref="TransportOptions.ReconnectBackoffMax"/>, and is forgotten on success.
/// </summary>
internal sealed class ReconnectBackoff
{
    private readonly Lock _lock = new();
    private TimeSpan _delay;
    private long _retryAt;

    /// <summary>True while sends to the peer should fail fast instead of connecting.</summary>
    public bool IsWaiting(long now)
    {
        lock (_lock)
        {
            return now < _retryAt;
        }
    }

    /// <summary>Records a failure at <paramref name="now"/> and returns the delay before the next attempt.</summary>
    public TimeSpan Fail(long now, TimeProvider time, TimeSpan initial, TimeSpan max)
    {
        lock (_lock)
        {
            _delay = _delay == TimeSpan.Zero ? initial : TimeSpan.FromTicks(Math.Min(_delay.Ticks * 2, max.Ticks));
            _retryAt = now + (long)(_delay.TotalSeconds * time.TimestampFrequency);
            return _delay;
        }
    }
}
