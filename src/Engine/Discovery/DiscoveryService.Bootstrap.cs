using Engine.Diagnostics;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Discovery;

/// <content>
/// Bootstrap: each configured peer is sent a membership request at start and again every bootstrap retry interval
/// until it answers, at most <c>MaxConnectionAttempts</c> times. Failures are logged (rate-limited) with the reason.
/// </content>
internal sealed partial class DiscoveryService
{
    private readonly BootstrapContact[] _bootstrap;
    private readonly LogRateLimiter _bootstrapLog;
    private ITimer? _bootstrapTimer;

    private static BootstrapContact[] CreateBootstrapContacts(DiscoverySettings settings) =>
        settings.BootstrapPeers.Where(e => e != settings.Endpoint).Distinct().Select(e => new BootstrapContact(e)).ToArray();

    /// <summary>Bootstrap peers that have not answered yet (and are still being tried).</summary>
    public int PendingBootstrapPeers => _bootstrap.Count(c => !c.IsDone);

    private void StartBootstrap()
    {
        if (_bootstrap.Length == 0)
        {
            return;
        }

        lock (_timers)
        {
            var interval = _settings.BootstrapRetryInterval;
            _bootstrapTimer = _time.CreateTimer(static s => ((PeriodicJob)s!).Run(), new PeriodicJob(this, static s => s.AttemptBootstrap()), interval, interval);
            _timers.Add(_bootstrapTimer);
        }

        AttemptBootstrap();
    }

    private void AttemptBootstrap()
    {
        bool pending = false;
        foreach (var contact in _bootstrap)
        {
            if (contact.IsDone)
            {
                continue;
            }

            int attempt = Interlocked.Increment(ref contact.Attempts);
            if (attempt > _settings.MaxConnectionAttempts)
            {
                if (Interlocked.Exchange(ref contact.GaveUp, 1) == 0)
                {
                    DiscoveryLog.BootstrapGaveUp(_logger, Endpoint, contact.Endpoint, attempt - 1);
                }

                continue;
            }

            pending = true;
            DiscoveryMetrics.BootstrapAttempts.Add(1);
            var status = SendMembershipRequest(contact.Endpoint);
            if (status != SendStatus.Sent)
            {
                BootstrapFailed(contact, status == SendStatus.Unreachable ? "the connection failed recently (backing off)" : status.ToString());
            }
        }

        if (!pending)
        {
            _bootstrapTimer?.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>The transport lost (or could not open) the stream to <paramref name="peer"/>.</summary>
    public void OnConnectionLost(PeerEndpoint peer, string reason)
    {
        foreach (var contact in _bootstrap)
        {
            if (contact.Endpoint == peer && !contact.IsDone)
            {
                BootstrapFailed(contact, reason);
            }
        }
    }

    private void BootstrapFailed(BootstrapContact contact, string reason)
    {
        DiscoveryMetrics.BootstrapFailures.Add(1);
        if (_bootstrapLog.TryAcquire(out long suppressed) && _logger.IsEnabled(LogLevel.Warning))
        {
            DiscoveryLog.BootstrapUnreachable(_logger, Endpoint, contact.Endpoint, reason, Volatile.Read(ref contact.Attempts),
                _settings.MaxConnectionAttempts, _settings.BootstrapRetryInterval, suppressed);
        }
    }

    /// <summary>A membership response came from <paramref name="source"/>: if it is a bootstrap peer, it is done.</summary>
    private void OnResponseFrom(PeerEndpoint source, int alive, int dead)
    {
        foreach (var contact in _bootstrap)
        {
            if (contact.Endpoint == source && Interlocked.Exchange(ref contact.Answered, 1) == 0)
            {
                DiscoveryMetrics.BootstrapSuccesses.Add(1);
                int attempts = Volatile.Read(ref contact.Attempts);
                DiscoveryLog.BootstrapAnswered(_logger, Endpoint, source, attempts, alive, dead);
            }
        }
    }

    private sealed class BootstrapContact(PeerEndpoint endpoint)
    {
        public readonly PeerEndpoint Endpoint = endpoint;
        public int Attempts;
        public int Answered;
        public int GaveUp;

        public bool IsDone => Volatile.Read(ref Answered) != 0 || Volatile.Read(ref GaveUp) != 0;
    }
}
