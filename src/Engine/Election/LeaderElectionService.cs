using Engine.Diagnostics;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Election;

/// <summary>Where an election is in Fabric's loop.</summary>
internal enum ElectionPhase
{
    NotStarted = 0,

    /// <summary>Waiting for the view to stop changing (at most the startup grace period).</summary>
    Stabilizing,

    /// <summary>Proposed itself; collecting other proposals for the election duration (a declaration cuts it short).</summary>
    Electing,

    /// <summary>Leader: declared itself; waiting half the alive threshold (a declaration cuts it short).</summary>
    Leading,

    /// <summary>Follower: waiting the alive threshold for a declaration.</summary>
    Following,

    /// <summary>Static mode (election off): leader or follower for good.</summary>
    Static,

    Stopped,
}

/// <summary>Counters of one election instance.</summary>
internal readonly record struct ElectionStatistics(
    long ProposalsSent,
    long DeclarationsSent,
    long MessagesAccepted,
    long MessagesIgnored,
    long TimesElected,
    long TimesSteppedDown);

/// <summary>
/// Fabric's leader election (gossip/election/election.go) for one channel and one org, as a state machine on a
/// <see cref="TimeProvider"/> instead of goroutines, so virtual time drives it deterministically.
/// </summary>
/// <remarks>
/// <para>
/// The loop: wait for the view to stabilise (its size unchanged between two samples, the grace period over, or a
/// declaration heard). Then, while no leader is known: propose, collect proposals for the election duration, and lead
/// unless a declaration arrived or a peer with a lower PKI-ID (byte order) proposed. A leader declares itself every
/// half alive threshold; a follower forgets the leader and proposals, waits one alive threshold, and starts an election
/// if no declaration arrived meanwhile. A leader that hears a declaration of a lower PKI-ID steps down, so after a
/// partition heals one leader remains. <see cref="Yield"/> steps aside: no proposal from this peer until a new leader
/// declares or six alive thresholds pass. Messages from peers not in the adapter's view are ignored.
/// </para>
/// <para>
/// Thread-safe: every entry point and timer callback runs under one lock. The leadership callback and the adapter are
/// called under that lock (the lock is re-entrant, so the callback may call <see cref="Yield"/>), and must not block.
/// </para>
/// </remarks>
internal sealed class LeaderElectionService : IDisposable
{
    private static readonly TimerCallback TimerFired = static state => ((WaitToken)state!).Owner.OnTimer((WaitToken)state);

    private readonly byte[] _self;
    private readonly string _name;
    private readonly string _org;
    private readonly string _channel;
    private readonly ElectionOptions _options;
    private readonly ILeaderElectionAdapter _adapter;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Action<bool>? _leadershipChanged;
    private readonly LogRateLimiter _ignoredLimiter;
    private readonly KeyValuePair<string, object?> _channelTag;
    private readonly KeyValuePair<string, object?> _orgTag;
    private readonly Lock _gate = new();

    private ElectionPhase _phase;
    private bool _isLeader;
    private bool _leaderExists;
    private bool _yielding;
    private bool _lowerProposalSeen;
    private bool _sleeping;
    private int _proposalsSeen;
    private int _viewSize;
    private long _stabilizeDeadline;
    private ulong _incNum;
    private ulong _seqNum;
    private ITimer? _waitTimer;
    private WaitToken? _waitToken;
    private ITimer? _yieldTimer;

    private long _proposalsSent;
    private long _declarationsSent;
    private long _accepted;
    private long _ignored;
    private long _elected;
    private long _steppedDown;

    /// <param name="selfPkiId">This peer's PKI-ID; candidates are ordered by it, lowest first (byte order).</param>
    /// <param name="peerName">How log lines name this peer (its endpoint or name).</param>
    /// <param name="orgId">The org the election is for.</param>
    /// <param name="channel">The channel the election is for.</param>
    /// <param name="options">Timings and mode; validated by <see cref="Start"/>.</param>
    /// <param name="adapter">Gossip and view of the org's peers in the channel.</param>
    /// <param name="time">The clock (virtual in tests).</param>
    /// <param name="logger">Where the election logs.</param>
    /// <param name="leadershipChanged">Called with true when this peer becomes leader and false when it stops being leader.</param>
    public LeaderElectionService(
        ReadOnlySpan<byte> selfPkiId,
        string peerName,
        string orgId,
        string channel,
        ElectionOptions options,
        ILeaderElectionAdapter adapter,
        TimeProvider time,
        ILogger? logger = null,
        Action<bool>? leadershipChanged = null)
    {
        ArgumentOutOfRangeException.ThrowIfZero(selfPkiId.Length, nameof(selfPkiId));
        ArgumentNullException.ThrowIfNull(peerName);
        ArgumentNullException.ThrowIfNull(orgId);
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(adapter);
        ArgumentNullException.ThrowIfNull(time);
        _self = selfPkiId.ToArray();
        _name = peerName;
        _org = orgId;
        _channel = channel;
        _options = options;
        _adapter = adapter;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _leadershipChanged = leadershipChanged;
        _ignoredLimiter = new LogRateLimiter(time, TimeSpan.FromSeconds(10));
        _channelTag = ElectionMetrics.Tag("channel", channel);
        _orgTag = ElectionMetrics.Tag("org", orgId);
    }

    /// <summary>True while this peer leads its org in the channel.</summary>
    public bool IsLeader
    {
        get
        {
            lock (_gate)
            {
                return _isLeader;
            }
        }
    }

    /// <summary>True while this peer has yielded and does not propose itself.</summary>
    public bool IsYielding
    {
        get
        {
            lock (_gate)
            {
                return _yielding;
            }
        }
    }

    public ElectionPhase Phase
    {
        get
        {
            lock (_gate)
            {
                return _phase;
            }
        }
    }

    public string PeerName => _name;

    public ReadOnlySpan<byte> PkiId => _self;

    /// <summary>
    /// Starts the election. Throws <see cref="ArgumentException"/> (and logs it) when the options are invalid, above all
    /// when dynamic election and static org leadership are both on.
    /// </summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_phase != ElectionPhase.NotStarted)
            {
                throw new InvalidOperationException($"The election of {_org} in {_channel} was already started.");
            }

            try
            {
                _options.Validate();
            }
            catch (ArgumentException ex)
            {
                ElectionLog.ConfigurationError(_logger, _name, _org, _channel, ex.Message);
                throw;
            }

            if (!_options.UseLeaderElection)
            {
                _phase = ElectionPhase.Static;
                if (_options.OrgLeader)
                {
                    ElectionLog.StaticLeader(_logger, _name, _org, _channel);
                    BecomeLeader(ElectionMetrics.Tag("change", "static"));
                }
                else
                {
                    ElectionLog.StaticFollower(_logger, _name, _org, _channel);
                    ElectionMetrics.Leader.Record(0, _channelTag, _orgTag);
                }

                return;
            }

            // Fabric's adapter: the incarnation is the start time in nanoseconds.
            _incNum = (ulong)(_time.GetUtcNow().UtcTicks - DateTimeOffset.UnixEpoch.UtcTicks) * 100;
            _phase = ElectionPhase.Stabilizing;
            _viewSize = _adapter.PeerCount;
            _stabilizeDeadline = _time.GetTimestamp() + ToTimestamp(_options.StartupGracePeriod);
            ElectionLog.Started(_logger, _name, _org, _channel, _options.StartupGracePeriod, _options.MembershipSampleInterval);
            Arm(_options.MembershipSampleInterval, interruptible: false);
        }
    }

    /// <summary>A leadership message of this channel and org (Fabric's <c>Accept</c>): a proposal or a declaration.</summary>
    public void HandleMessage(in LeadershipFields message) => HandleMessage(message.PkiId, message.IsDeclaration);

    /// <inheritdoc cref="HandleMessage(in LeadershipFields)"/>
    public void HandleMessage(ReadOnlySpan<byte> sender, bool isDeclaration)
    {
        var type = ElectionMetrics.Tag("type", isDeclaration ? "declaration" : "proposal");
        lock (_gate)
        {
            string? reason = null;
            string result;
            if (_phase is ElectionPhase.NotStarted or ElectionPhase.Static or ElectionPhase.Stopped)
            {
                result = "ignored";
                reason = _phase == ElectionPhase.Static ? "election is off (static mode)" : "election not running";
            }
            else if (sender.SequenceEqual(_self))
            {
                result = "self";
            }
            else if (!_adapter.IsAlive(sender))
            {
                result = "not_member";
                reason = "the sender is not an alive peer of the org in the channel";
            }
            else
            {
                result = "accepted";
                Accept(sender, isDeclaration);
            }

            if (result == "accepted")
            {
                _accepted++;
            }
            else
            {
                _ignored++;
                if (reason is not null && _logger.IsEnabled(LogLevel.Debug) && _ignoredLimiter.TryAcquire(out long suppressed))
                {
                    ElectionLog.Ignored(_logger, _name, _org, _channel, reason, suppressed);
                }
            }

            ElectionMetrics.MessagesReceived.Add(1, type, ElectionMetrics.Tag("result", result));
        }
    }

    /// <summary>
    /// Steps aside (Fabric's <c>Yield</c>): a leader stops leading and proposes nothing until a new leader declares or six
    /// alive thresholds pass. Returns false (and does nothing) when this peer is not a dynamically elected leader or already yields.
    /// </summary>
    public bool Yield()
    {
        lock (_gate)
        {
            if (!_isLeader || _yielding || _phase is ElectionPhase.Static or ElectionPhase.Stopped or ElectionPhase.NotStarted)
            {
                return false;
            }

            var duration = _options.LeaderAliveThreshold * 6;
            _yielding = true;
            ElectionLog.Yielding(_logger, _name, _org, _channel, duration);
            StopBeingLeader("yielded", ElectionMetrics.Tag("change", "yielded"));
            _leaderExists = false;
            _yieldTimer?.Dispose();
            _yieldTimer = _time.CreateTimer(static state => ((LeaderElectionService)state!).YieldExpired(), this, duration, Timeout.InfiniteTimeSpan);
            return true;
        }
    }

    public ElectionStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new ElectionStatistics(_proposalsSent, _declarationsSent, _accepted, _ignored, _elected, _steppedDown);
        }
    }

    /// <summary>Stops the election: no more messages or timers. A leader stops leading (no callback: the node stops the channel itself).</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_phase == ElectionPhase.Stopped)
            {
                return;
            }

            bool wasLeader = _isLeader;
            _phase = ElectionPhase.Stopped;
            _waitToken = null;
            _waitTimer?.Dispose();
            _waitTimer = null;
            _yieldTimer?.Dispose();
            _yieldTimer = null;
            _isLeader = false;
            ElectionMetrics.Leader.Record(0, _channelTag, _orgTag);
            ElectionLog.Stopped(_logger, _name, _org, _channel, wasLeader);
        }
    }

    // Fabric's handleMessage.
    private void Accept(ReadOnlySpan<byte> sender, bool isDeclaration)
    {
        if (!isDeclaration)
        {
            _proposalsSeen++;
            if (sender.SequenceCompareTo(_self) < 0)
            {
                _lowerProposalSeen = true;
            }

            return;
        }

        _leaderExists = true;
        if (_sleeping)
        {
            // Fabric's interrupt: cut the current wait short; the loop continues at once.
            Arm(TimeSpan.Zero, interruptible: false);
        }

        if (_isLeader && sender.SequenceCompareTo(_self) < 0)
        {
            StopBeingLeader("a peer with a lower PKI-ID declared itself leader", ElectionMetrics.Tag("change", "stepped_down"));
        }
    }

    private void OnTimer(WaitToken token)
    {
        lock (_gate)
        {
            if (!ReferenceEquals(token, _waitToken) || _phase == ElectionPhase.Stopped)
            {
                return;
            }

            _waitToken = null;
            _sleeping = false;
            switch (_phase)
            {
                case ElectionPhase.Stabilizing:
                    SampleView();
                    break;
                case ElectionPhase.Electing:
                    FinishElection();
                    break;
                case ElectionPhase.Leading:
                    RunStep();
                    break;
                case ElectionPhase.Following:
                    if (!_leaderExists)
                    {
                        ElectionLog.LeaderSilent(_logger, _name, _org, _channel, _options.LeaderAliveThreshold);
                    }

                    RunStep();
                    break;
            }
        }
    }

    // Fabric's waitForMembershipStabilization: sample every interval until the size holds, time is up or a leader declared.
    private void SampleView()
    {
        int size = _adapter.PeerCount;
        string? reason = size == _viewSize ? "view size unchanged"
            : _time.GetTimestamp() >= _stabilizeDeadline ? "startup grace period over"
            : _leaderExists ? "a leader declared itself"
            : null;
        if (reason is null)
        {
            _viewSize = size;
            Arm(_options.MembershipSampleInterval, interruptible: false);
            return;
        }

        ElectionLog.Stabilized(_logger, _name, _org, _channel, size, reason);
        RunStep();
    }

    // One turn of Fabric's run loop, up to its first wait.
    private void RunStep()
    {
        if (!_leaderExists && !_yielding)
        {
            // leaderElection: propose, then collect proposals (a declaration interrupts).
            _phase = ElectionPhase.Electing;
            ElectionLog.Proposing(_logger, _name, _org, _channel, _adapter.PeerCount);
            ElectionMetrics.Elections.Add(1);
            Send(isDeclaration: false);
            Arm(_options.LeaderElectionDuration, interruptible: true);
            return;
        }

        AfterElection();
    }

    private void FinishElection()
    {
        if (_leaderExists)
        {
            ElectionLog.NotElected(_logger, _name, _org, _channel, "a peer already declared itself leader");
        }
        else if (_yielding)
        {
            ElectionLog.NotElected(_logger, _name, _org, _channel, "yielding");
        }
        else if (_lowerProposalSeen)
        {
            ElectionLog.NotElected(_logger, _name, _org, _channel, "a peer with a lower PKI-ID proposed itself");
        }
        else
        {
            BecomeLeader(ElectionMetrics.Tag("change", "elected"));
            _leaderExists = true;
        }

        AfterElection();
    }

    private void AfterElection()
    {
        if (_leaderExists && _yielding)
        {
            StopYielding("a leader exists");
        }

        if (_isLeader)
        {
            // leader(): declare, then wait half the threshold (a declaration interrupts).
            _phase = ElectionPhase.Leading;
            Send(isDeclaration: true);
            ElectionMetrics.Leader.Record(1, _channelTag, _orgTag);
            Arm(_options.LeaderAliveThreshold / 2, interruptible: true);
            return;
        }

        // follower(): forget proposals and the leader, wait a full threshold for a declaration.
        _phase = ElectionPhase.Following;
        _lowerProposalSeen = false;
        _proposalsSeen = 0;
        _leaderExists = false;
        ElectionMetrics.Leader.Record(0, _channelTag, _orgTag);
        Arm(_options.LeaderAliveThreshold, interruptible: false);
    }

    private void Send(bool isDeclaration)
    {
        var message = new LeadershipFields { PkiId = _self, IncNum = _incNum, SeqNum = ++_seqNum, IsDeclaration = isDeclaration };
        if (isDeclaration)
        {
            _declarationsSent++;
        }
        else
        {
            _proposalsSent++;
        }

        ElectionMetrics.MessagesSent.Add(1, ElectionMetrics.Tag("type", isDeclaration ? "declaration" : "proposal"));
        _adapter.Gossip(in message);
    }

    private void BecomeLeader(KeyValuePair<string, object?> change)
    {
        _isLeader = true;
        _elected++;
        ElectionLog.Elected(_logger, _name, _org, _channel);
        ElectionMetrics.LeadershipChanges.Add(1, change);
        ElectionMetrics.Leader.Record(1, _channelTag, _orgTag);
        _leadershipChanged?.Invoke(true);
    }

    private void StopBeingLeader(string reason, KeyValuePair<string, object?> change)
    {
        _isLeader = false;
        _steppedDown++;
        ElectionLog.SteppedDown(_logger, _name, _org, _channel, reason);
        ElectionMetrics.LeadershipChanges.Add(1, change);
        ElectionMetrics.Leader.Record(0, _channelTag, _orgTag);
        _leadershipChanged?.Invoke(false);
    }

    private void StopYielding(string reason)
    {
        _yielding = false;
        _yieldTimer?.Dispose();
        _yieldTimer = null;
        ElectionLog.StoppedYielding(_logger, _name, _org, _channel, reason);
    }

    private void YieldExpired()
    {
        lock (_gate)
        {
            if (_yielding && _phase != ElectionPhase.Stopped)
            {
                StopYielding($"{_options.LeaderAliveThreshold * 6} passed");
            }
        }
    }

    // One pending wait at a time; a fresh token per wait makes a late callback of a replaced timer a no-op.
    private void Arm(TimeSpan delay, bool interruptible)
    {
        _waitTimer?.Dispose();
        var token = new WaitToken(this);
        _waitToken = token;
        _sleeping = interruptible;
        _waitTimer = _time.CreateTimer(TimerFired, token, delay, Timeout.InfiniteTimeSpan);
    }

    private long ToTimestamp(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    private sealed class WaitToken(LeaderElectionService owner)
    {
        public LeaderElectionService Owner { get; } = owner;
    }
}
