using Engine.Diagnostics;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Discovery;

/// <summary>
/// Fabric's discovery over Engine's transport: this peer's alive heartbeats (UDP, packed), received heartbeats judged
/// by the membership table and spread by the <see cref="IHeartbeatStrategy"/>, bootstrap contact, membership
/// request/response over framed TCP, expiry, re-probing of dead members and purging. One instance per node; the
/// node's message router hands it the envelopes it owns. Split by concern: <c>.Heartbeats</c>, <c>.Receive</c>,
/// <c>.Bootstrap</c>, <c>.Sync</c>, <c>.Expiry</c>.
/// </summary>
internal sealed partial class DiscoveryService : IDisposable
{
    private readonly DiscoverySettings _settings;
    private readonly ITransport _transport;
    private readonly MembershipTable _table;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly DatagramEmitter _emitter;
    private readonly IHeartbeatStrategy _strategy;
    private readonly OrgIdentity _orgs = new();
    private readonly byte[] _endpointText;
    private readonly byte[] _externalText;
    private readonly byte[] _identity;
    private readonly ulong _incarnation;
    private readonly LogRateLimiter _badInputLog;
    private readonly LogRateLimiter _rejectedLog;
    private readonly List<ITimer> _timers = [];
    private readonly Lock _protectedGate = new();
    private readonly HashSet<PeerEndpoint> _protected = [];
    private readonly Random _filterRandom;
    private long _seq;
    private int _state; // 0 created, 1 running, 2 stopped

    /// <param name="settings">Identity, timings and bootstrap peers.</param>
    /// <param name="transport">A started transport (its limits size the messages).</param>
    /// <param name="table">The node's membership table.</param>
    /// <param name="time">The clock for timers and timestamps (the table's clock).</param>
    /// <param name="logger">Where view changes, bootstrap progress and bad input are logged.</param>
    /// <param name="strategy">How heartbeats spread; null for Fabric's flooding.</param>
    public DiscoveryService(DiscoverySettings settings, ITransport transport, MembershipTable table, TimeProvider time, ILogger logger,
        Func<MembershipTable, DatagramEmitter, IHeartbeatStrategy>? strategy = null)
    {
        _settings = settings;
        _transport = transport;
        _table = table;
        _time = time;
        _logger = logger;
        _endpointText = EndpointText.ToUtf8(settings.Endpoint);
        _externalText = settings.ExternalEndpoint.IsEmpty ? [] : EndpointText.ToUtf8(settings.ExternalEndpoint);
        _identity = OrgIdentity.Encode(settings.OrgId);
        _incarnation = (ulong)(time.GetUtcNow() - DateTimeOffset.UnixEpoch).Ticks * 100; // Fabric: start time in ns
        _badInputLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _rejectedLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _bootstrapLog = new LogRateLimiter(time, TimeSpan.FromSeconds(10));
        _filterRandom = new Random(unchecked((int)PeerKey.Hash(settings.PkiId, _incarnation))); // reproducible under virtual time
        _emitter = new DatagramEmitter(transport, Counters, time, settings.MaxPropagationBurstSize, settings.MaxPropagationBurstLatency, settings.PropagatePeerNum)
        {
            Boundary = new OrgBoundary(settings.OrgId, settings.AnyOrg),
        };
        _strategy = strategy?.Invoke(table, _emitter)
            ?? (settings.Swim is { } swim ? new SwimHeartbeatStrategy(this, swim, logger) : new FloodingHeartbeatStrategy(table, _emitter, settings.PropagatePeerNum));
        _bootstrap = CreateBootstrapContacts(settings);

        int aliveSize = AliveCodec.EnvelopeSize(OwnFields(ulong.MaxValue), settings.Security is null ? 0 : Security.NodeSecurity.SignatureReserve);
        if (EnvelopeBatch.RecordSize(aliveSize) > transport.MaxDatagramPayload)
        {
            _emitter.Dispose();
            throw new ArgumentException(
                $"This peer's alive message takes {aliveSize} bytes, more than a datagram of {transport.MaxDatagramPayload} bytes carries: raise Transport.MaxDatagramPayload or shorten the metadata.",
                nameof(transport));
        }
    }

    /// <summary>Called for every change of the view (added, resurrected, restarted, died, purged).</summary>
    public Action<Member, MembershipChange>? ViewChanged { get; set; }

    public DiscoveryCounters Counters { get; } = new();

    public MembershipTable Table => _table;

    public PeerEndpoint Endpoint => _settings.Endpoint;

    public ReadOnlySpan<byte> PkiId => _settings.PkiId;

    public ulong Incarnation => _incarnation;

    public bool IsRunning => Volatile.Read(ref _state) == 1;

    /// <summary>Starts heartbeats, expiry, re-probing, membership sync and bootstrap.</summary>
    public void Start()
    {
        if (Interlocked.CompareExchange(ref _state, 1, 0) != 0)
        {
            throw new InvalidOperationException("Discovery is already started or stopped.");
        }

        DiscoveryMetrics.Register(_table);
        foreach (var endpoint in _settings.BootstrapPeers)
        {
            Protect(endpoint);
        }

        string self = Describe(_settings.PkiId, Endpoint);
        DiscoveryLog.Started(_logger, Endpoint, self, _settings.OrgId, _incarnation, _settings.AliveInterval,
            _settings.AliveExpirationTimeout, _bootstrap.Length, _strategy.Name);

        lock (_timers)
        {
            if (_strategy.SendsHeartbeats)
            {
                Every(TimeSpan.Zero, _settings.AliveInterval, static s => s.SendHeartbeat());
            }

            Every(_settings.ExpirationCheckInterval, _settings.ExpirationCheckInterval, static s => s.CheckExpiry());
            Every(_settings.ReconnectInterval, _settings.ReconnectInterval, static s => s.ReprobeDead());
            // A probing strategy's first round at a random point of the second half of an interval: peers started
            // together (a cluster brought up at once, a restart wave) do not all sync at the same instant, every round
            // after, with a whole network's responses in flight at once. Fabric mode keeps Fabric's timing: there the
            // rounds' phase against the expiry checks decides how soon a responder's newer copy brings back a peer
            // just declared dead (with the jitter the gate's 100-peer detection went from 4.5 to 15.4 s).
            // A probing strategy asks one peer per tick, pullPeerNum ticks per interval (SyncMembership).
            var firstSync = _settings.SyncInterval;
            var syncPeriod = _settings.SyncInterval;
            if (!_strategy.SendsHeartbeats)
            {
                syncPeriod /= Math.Max(1, _settings.SyncPeerNum);
                lock (_filterRandom)
                {
                    firstSync *= 0.5 + (_filterRandom.NextDouble() / 2);
                }
            }

            Every(firstSync, syncPeriod, static s => s.SyncMembership());
        }

        _strategy.Start();
        StartBootstrap();
    }

    /// <summary>Stops every timer and pending datagram; idempotent. The transport is the caller's to dispose.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _state, 2) == 2)
        {
            return;
        }

        lock (_timers)
        {
            foreach (var timer in _timers)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }

        _strategy.Stop();
        _emitter.Dispose();
        DiscoveryMetrics.Unregister(_table);
        DiscoveryLog.Stopped(_logger, Endpoint, Counters.AliveSent, Counters.AliveForwarded, Counters.AliveReceived, Counters.AliveStale,
            _table.AliveCount + _table.SuspectCount, _table.DeadCount);
    }

    /// <summary>
    /// Marks <paramref name="endpoint"/> as a bootstrap or anchor endpoint: a member announcing it is never purged
    /// (Fabric FAB-17539: purged anchors left peers isolated), so it keeps being re-probed while dead.
    /// </summary>
    public void Protect(PeerEndpoint endpoint)
    {
        lock (_protectedGate)
        {
            _protected.Add(endpoint);
        }

        foreach (var member in _table)
        {
            if (member.Endpoint == endpoint)
            {
                MembershipTable.SetNeverPurge(member, true);
            }
        }
    }

    private bool IsProtected(PeerEndpoint endpoint)
    {
        lock (_protectedGate)
        {
            return _protected.Contains(endpoint);
        }
    }

    /// <summary>Logs, counts and reports a change the table made.</summary>
    private void OnChange(Member member, MembershipChange change, long now)
    {
        if (change is not (MembershipChange.Stale or MembershipChange.Purged or MembershipChange.Rejected))
        {
            NoteInSyncFilter(member);
        }

        switch (change)
        {
            case MembershipChange.Added:
                if (IsProtected(member.Endpoint))
                {
                    MembershipTable.SetNeverPurge(member, true);
                }

                LogView('+', member, member.State == MemberState.Dead ? "dead" : "alive");
                Count("added");
                break;
            case MembershipChange.Resurrected:
                LogView('+', member, "alive again");
                Count("resurrected");
                break;
            case MembershipChange.Restarted:
                var time = member.Time;
                DiscoveryLog.PeerRestarted(_logger, Endpoint, member, time.IncNum);

                Count("restarted");
                break;
            case MembershipChange.Died:
                var silence = TimeSpan.FromSeconds((double)(now - member.LastSeen) / _time.TimestampFrequency);
                DiscoveryLog.PeerDead(_logger, Endpoint, member, silence, _settings.AliveExpirationTimeout);

                LogView('-', member, "dead");
                Count("died");
                break;
            case MembershipChange.Purged:
                var unheard = TimeSpan.FromSeconds((double)(now - member.LastSeen) / _time.TimestampFrequency);
                DiscoveryLog.PeerPurged(_logger, Endpoint, member, unheard);
                _settings.Security?.Forget(member.PkiId);

                LogView('-', member, "purged");
                Count("purged");
                break;
            default:
                return;
        }

        ViewChanged?.Invoke(member, change);
    }

    private void LogView(char sign, Member member, string state)
    {
        int alive = _table.AliveCount + _table.SuspectCount, dead = _table.DeadCount;
        DiscoveryLog.ViewChanged(_logger, Endpoint, sign, member, state, alive, dead);
    }

    private static void Count(string change) => DiscoveryMetrics.ViewChanges.Add(1, DiscoveryMetrics.Change(change));

    internal void BadInput(PeerEndpoint source, string what, string reason, string kind)
    {
        Counters.DecodeError(kind);
        if (_badInputLog.TryAcquire(out long suppressed))
        {
            DiscoveryLog.BadInput(_logger, Endpoint, what, source, reason, suppressed);
        }
    }

    /// <summary>A periodic timer whose callback is skipped while the previous run is still going, and never throws.</summary>
    private void Every(TimeSpan due, TimeSpan period, Action<DiscoveryService> work)
    {
        var job = new PeriodicJob(this, work);
        _timers.Add(_time.CreateTimer(static s => ((PeriodicJob)s!).Run(), job, due, period));
    }

    internal static string Describe(ReadOnlySpan<byte> pkiId, PeerEndpoint endpoint) =>
        $"{Convert.ToHexStringLower(pkiId[..Math.Min(pkiId.Length, 8)])}@{endpoint}";

    private sealed class PeriodicJob(DiscoveryService owner, Action<DiscoveryService> work)
    {
        private int _busy;

        public void Run()
        {
            if (!owner.IsRunning || Interlocked.Exchange(ref _busy, 1) != 0)
            {
                return;
            }

            try
            {
                work(owner);
            }
            catch (Exception e)
            {
                DiscoveryLog.TimerFailed(owner._logger, e, owner.Endpoint);
            }
            finally
            {
                Volatile.Write(ref _busy, 0);
            }
        }
    }
}
