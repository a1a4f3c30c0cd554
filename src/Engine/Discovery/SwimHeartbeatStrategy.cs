using System.Buffers;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Discovery;

/// <summary>
/// SWIM-style failure detection and dissemination (Das, Gupta, Motivala 2002, with Lifeguard's "buddy" refutation): a
/// per-peer cost that does not grow with N. Every probe interval this peer pings one member — the next of a round robin
/// over the reachable members in a fresh random order each pass — and expects an ack; without one within the probe
/// timeout it asks <c>k</c> other members to ping the target for it (relayed acks count); without any ack by the end of
/// the interval it suspects the target at the time it holds. A suspicion becomes a death after
/// SuspicionMultiplier × log10(N) probe intervals unless the member refutes it with a newer PeerTime (this peer's own
/// seq_num bump when it hears it is suspected). Every change (join, restart, suspicion, refutation, death) rides on the
/// probes and acks, at most MaxPiggyback per message, each retransmitted RetransmitMultiplier × log10(N) times by each
/// peer; news about the recipient itself goes first. Membership sync (bootstrap, membership requests over TCP) stays as
/// in Fabric mode and carries bulk state; there are no alive heartbeats and no expiry by silence.
/// </summary>
internal sealed class SwimHeartbeatStrategy : IHeartbeatStrategy
{
    private const int QueueCapacity = 4096;
    private const int DeadProbesPerInterval = 3;
    private const int MaxHealth = 8;
    private const int WarmUpAcks = 3;

    /// <summary>Pings a suspicion's confirmer sends the accused before declaring it dead (the second and later also through helpers).</summary>
    private const int HealthyConfirmPings = 2;

    /// <summary>The same while this peer is unhealthy (its acks arrive late).</summary>
    private const int MaxConfirmPings = 3;

    /// <summary>Probe intervals a confirmer waits, sending nothing, after its pings while it cannot trust its own silence verdicts.</summary>
    private const int MaxUntrustedWaits = 3;

    /// <summary>While changes are pending they are also gossiped to <see cref="GossipFanout"/> random members this often (memberlist's gossip timer).</summary>
    private static readonly TimeSpan GossipInterval = TimeSpan.FromMilliseconds(200);
    private const int GossipFanout = 3;

    /// <summary>A member learned from someone else's news is passed on only while fewer changes than this are pending: a mass join is sync's to carry.</summary>
    private const int SecondHandJoinLimit = 64;

    [ThreadStatic]
    private static bool _recording; // set while this strategy records news itself (OnRecorded then leaves it alone)

    private readonly DiscoveryService _discovery;
    private readonly MembershipTable _table;
    private readonly ITransport _transport;
    private readonly TimeProvider _time;
    private readonly SwimSettings _settings;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly SwimNewsQueue _news = new(QueueCapacity);
    private readonly PriorityQueue<Suspicion, long> _suspicions = new(); // by deadline: the suspicion timeout grows with N, confirmations wait less
    private readonly SwimNewsItem[] _taken;
    [ThreadStatic]
    private static Member[]? _scratch; // helpers and gossip targets: timers may overlap, so per thread
    private readonly Random _random;
    private readonly int _bodyBudget;
    private ITimer? _probeTimer;
    private ITimer? _timeoutTimer;
    private ITimer? _gossipTimer;
    private bool _gossipArmed;
    private bool _stopped;

    // The probe in progress (under _gate).
    private Member? _target;
    private PeerTime _targetTime;
    private ulong _probeId;
    private bool _acked;
    private long _lastTick;
    private int _health; // 0: healthy; raised by late acks, lowered by acks on time
    private int _ticksToWait;
    private int _acksOnTime; // a peer judges nobody until its own probes have been answered on time a few times
    private long _lastAckOnTime; // when an ack to this peer's own probe last came back within its period
    private readonly long _stallTicks;

    // The round robin: positions offset + i·stride (mod count) of the sampling index, reshuffled each pass.
    private int _passCount;
    private int _passIndex;
    private int _passOffset;
    private int _passStride = 1;

    public SwimHeartbeatStrategy(DiscoveryService discovery, SwimSettings settings, ILogger logger)
    {
        _discovery = discovery;
        _table = discovery.Table;
        _transport = discovery.Transport;
        _time = discovery.Time;
        _settings = settings;
        _logger = logger;
        _taken = new SwimNewsItem[settings.MaxPiggyback];
        _random = new Random(unchecked((int)PeerKey.Hash(discovery.PkiId, discovery.Incarnation ^ 0x5317)));
        _bodyBudget = _transport.MaxDatagramPayload - SwimCodec.MaxEnvelopeOverhead;
        _stallTicks = (long)(settings.ProbeInterval.TotalSeconds * 1.5 * _time.TimestampFrequency);
    }

    public string Name => $"swim (probe every {_settings.ProbeInterval.TotalMilliseconds:N0} ms, timeout {_settings.ProbeTimeout.TotalMilliseconds:N0} ms, {_settings.IndirectProbes} indirect)";

    public bool SendsHeartbeats => false;

    public bool ExpiresSilentMembers => false;

    /// <summary>Probes sent (direct pings of the round robin).</summary>
    public long Probes;

    /// <summary>Probes answered by no ack, direct or relayed: the target was suspected.</summary>
    public long Failed;

    /// <summary>Acks that arrived after their probe period ended (evidence of local slowness).</summary>
    public long LateAcks;

    /// <summary>
    /// Unanswered probes not held against their target because this peer is unhealthy: its own probe period overran (a
    /// stall), or acks reached it late recently.
    /// </summary>
    public long Stalls;

    /// <summary>Direct pings sent to an accused member whose suspicion ran out, before declaring it dead.</summary>
    public long ConfirmPings;

    /// <summary>Probe intervals confirmers waited before a verdict because they could not trust their own silence verdicts.</summary>
    public long UntrustedWaits;

    /// <summary>Suspicions that ran out unrefuted but whose accused answered the confirmation ping: deaths not declared.</summary>
    public long SavedByConfirmPing;

    /// <summary>N as this peer sees it (members in the table and itself).</summary>
    private int ClusterSize => _table.Count + 1;

    private int MaxTransmits => _settings.RetransmitMultiplier * Log10Ceiling(ClusterSize);

    private TimeSpan SuspicionTimeout => _settings.ProbeInterval * (_settings.SuspicionMultiplier * Math.Max(1.0, Math.Log10(ClusterSize)));

    private static int Log10Ceiling(int n) => Math.Max(1, (int)Math.Ceiling(Math.Log10(n + 1)));

    public int SpreadOwn(ReadOnlySpan<byte> envelope) => 0;

    /// <summary>An alive heartbeat from a Fabric-mode peer: recorded by discovery, not flooded on.</summary>
    public int OnAccepted(ReadOnlySpan<byte> envelope, Member origin, PeerEndpoint source) => 0;

    public void Start()
    {
        // Start at a random phase of the interval, so peers started together do not probe in lockstep.
        var phase = _settings.ProbeInterval * _random.NextDouble();
        _timeoutTimer = _time.CreateTimer(static s => ((SwimHeartbeatStrategy)s!).OnProbeTimeout(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _probeTimer = _time.CreateTimer(static s => ((SwimHeartbeatStrategy)s!).OnProbeTick(), this, phase, _settings.ProbeInterval);
        // The gossip timer is armed only while urgent news waits (one interval at a time): idle, it costs nothing.
        _gossipTimer = _time.CreateTimer(static s => ((SwimHeartbeatStrategy)s!).OnGossipTick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        lock (_gate)
        {
            ArmGossipLocked();
        }
    }

    public void Stop()
    {
        lock (_gate)
        {
            _stopped = true;
        }

        _probeTimer?.Dispose();
        _timeoutTimer?.Dispose();
        _gossipTimer?.Dispose();
    }

    public void OnRecorded(Member member, MembershipChange change, bool firstHand)
    {
        if (!_recording && firstHand)
        {
            PassOnAlive(member, change, firstHand);
        }
    }

    /// <summary>
    /// Queues news that <paramref name="member"/> is alive when the change is worth spreading: a join heard from the
    /// member itself, any resurrection or restart (a refutation must reach everyone who suspected it), and a join heard
    /// second-hand only while few changes are pending.
    /// </summary>
    private void PassOnAlive(Member? member, MembershipChange change, bool firstHand)
    {
        if (member is null || change is not (MembershipChange.Added or MembershipChange.Resurrected or MembershipChange.Restarted)
            || member.GetState(out var time) != MemberState.Alive)
        {
            return;
        }

        lock (_gate)
        {
            if (change != MembershipChange.Added || firstHand || _news.Count < SecondHandJoinLimit)
            {
                Enqueue(new SwimNewsItem(member, MemberState.Alive, time, Urgent: change != MembershipChange.Added));
            }
        }
    }

    private bool RecordAlive(PeerEndpoint source, ReadOnlySpan<byte> alive, long now, bool firstHand, out Member? member)
    {
        _recording = true;
        try
        {
            if (!_discovery.RecordAlive(source, alive, now, out member, out var change))
            {
                return false;
            }

            PassOnAlive(member, change, firstHand);
            return true;
        }
        finally
        {
            _recording = false;
        }
    }

    /// <summary>While changes are pending: send them to a few random members (no answer expected).</summary>
    private void OnGossipTick()
    {
        lock (_gate)
        {
            _gossipArmed = false;
            if (_stopped || _news.UrgentCount == 0)
            {
                return;
            }
        }

        var targets = Scratch(GossipFanout);
        int count = _table.Sample(targets);
        for (int i = 0; i < count; i++)
        {
            Send(targets[i].Endpoint, targets[i], SwimKind.Gossip, 0, default, default, default, 0, default);
        }

        targets[..count].Clear();
        lock (_gate)
        {
            ArmGossipLocked();
        }
    }

    /// <summary>Arms the gossip timer for one interval while urgent news waits and it is not armed (caller holds the gate).</summary>
    private void ArmGossipLocked()
    {
        if (!_stopped && !_gossipArmed && _news.UrgentCount > 0 && _gossipTimer is { } timer)
        {
            _gossipArmed = true;
            timer.Change(GossipInterval, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>Pings a few random dead members (with the news that they are dead): a member that is back refutes and lives again.</summary>
    public bool ReprobeDead()
    {
        var chosen = new Member?[DeadProbesPerInterval]; // once per reconnect interval: not a hot path
        int seen = 0;
        lock (_gate)
        {
            foreach (var member in _table)
            {
                if (member.State != MemberState.Dead)
                {
                    continue;
                }

                int slot = seen < chosen.Length ? seen : _random.Next(seen + 1);
                if (slot < chosen.Length)
                {
                    chosen[slot] = member;
                }

                seen++;
            }
        }

        foreach (var member in chosen)
        {
            if (member is not null)
            {
                Send(member.Endpoint, member, SwimKind.Ping, 0, default, default, default, 0, default);
            }
        }

        return true;
    }

    // ---- the probe loop ----

    private void OnProbeTick()
    {
        long now = _time.GetTimestamp();
        Member? failed = null;
        PeerTime failedTime = default;
        Member? target;
        ulong probeId;
        bool waiting = false, stalled;
        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            // Lifeguard's local health, simplified: a probe period that ran far longer than the interval means this
            // process stalled (a blocking GC, CPU starvation); its unanswered probe says nothing about the target.
            long elapsed = now - _lastTick;
            stalled = _lastTick != 0 && elapsed > _stallTicks;
            _lastTick = now;

            // An unhealthy peer (acks reaching it late) stretches its probe period to (1 + health) intervals, as
            // memberlist does: the probe in flight gets that long to be answered, and the peer adds less load meanwhile.
            if (_target is not null && !_acked && !stalled && _ticksToWait > 0)
            {
                _ticksToWait--;
                waiting = true;
            }
        }

        if (waiting)
        {
            ConfirmSuspicions(now, stalled);
            return;
        }

        lock (_gate)
        {
            if (_stopped)
            {
                return;
            }

            _ticksToWait = _health;
            if (_target is not null && !_acked)
            {
                if (stalled || _health > 0 || _acksOnTime < WarmUpAcks)
                {
                    Interlocked.Increment(ref Stalls);
                }
                else
                {
                    failed = _target;
                    failedTime = _targetTime;
                }
            }

            target = NextTarget();
            _target = target;
            _acked = false;
            probeId = ++_probeId;
            if (target is not null)
            {
                target.GetState(out _targetTime);
                _timeoutTimer?.Change(_settings.ProbeTimeout * (1 + _health), Timeout.InfiniteTimeSpan);
            }
        }

        if (failed is not null)
        {
            Interlocked.Increment(ref Failed);
            Suspect(failed, failedTime, now, "no ack to a direct or indirect probe");
        }

        ConfirmSuspicions(now, stalled);
        if (target is not null)
        {
            Interlocked.Increment(ref Probes);
            Send(target.Endpoint, target, SwimKind.Ping, probeId, default, default, default, 0, default);
        }
    }

    /// <summary>The next member of the round robin (null when none is reachable).</summary>
    private Member? NextTarget()
    {
        int count = _table.SampleableCount;
        if (count == 0)
        {
            return null;
        }

        for (int attempt = 0; attempt < 4; attempt++)
        {
            if (_passIndex >= _passCount || _passCount != count)
            {
                // A new pass in a new random order: a random offset and a random stride coprime with the count.
                _passCount = count;
                _passIndex = 0;
                _passOffset = _random.Next(count);
                _passStride = 1 + _random.Next(Math.Max(1, count - 1));
                while (Gcd(_passStride, count) != 1)
                {
                    _passStride++;
                }
            }

            int position = (int)(((long)_passOffset + ((long)_passIndex * _passStride)) % count);
            _passIndex++;
            if (_table.SampleableAt(position) is { } member)
            {
                return member;
            }
        }

        return null;
    }

    private static int Gcd(int a, int b)
    {
        while (b != 0)
        {
            (a, b) = (b, a % b);
        }

        return a;
    }

    private void OnProbeTimeout()
    {
        Member? target;
        ulong probeId;
        lock (_gate)
        {
            if (_stopped || _acked || _target is null)
            {
                return;
            }

            target = _target;
            probeId = _probeId;
        }

        int count = AskHelpers(target, probeId);
        if (_logger.IsEnabled(LogLevel.Debug))
        {
            SwimLog.IndirectProbe(_logger, _discovery.Endpoint, target, _settings.ProbeTimeout, count);
        }
    }

    /// <summary>
    /// Asks up to IndirectProbes random other members to ping <paramref name="target"/> for this peer; returns how many
    /// were asked. With <paramref name="accuse"/> the request carries this peer's verdict about the target first: a helper
    /// that did not hold it learns it, and its ping then carries the accusation (buddy rule), so the target refutes in
    /// the ack relayed back, not just confirms the time this peer already suspects.
    /// </summary>
    private int AskHelpers(Member target, ulong probeId, bool accuse = false)
    {
        var helpers = Scratch(_settings.IndirectProbes);
        int count = _table.Sample(helpers, new NotFilter(target));
        Span<byte> targetEndpoint = stackalloc byte[EndpointText.MaxLength];
        int endpointLength = EndpointText.Format(target.Endpoint, targetEndpoint);
        for (int i = 0; i < count; i++)
        {
            var helper = helpers[i];
            Send(helper.Endpoint, helper, SwimKind.PingReq, probeId, target.PkiId, targetEndpoint[..endpointLength], default, 0, default, accuse ? target : null);
        }

        helpers[..count].Clear();
        return count;
    }

    /// <summary>Suspects <paramref name="member"/> at <paramref name="time"/> (stale if it has since been heard newer).</summary>
    private void Suspect(Member member, PeerTime time, long now, string reason)
    {
        var change = _discovery.RecordVerdict(member, time, MemberState.Suspect, now);
        if (change == MembershipChange.Suspected)
        {
            OnSuspected(member, time, now, reason);
        }
    }

    /// <summary>
    /// Starts this peer's timer for a suspicion, whoever raised it. (Second-hand timers two probe intervals longer, so
    /// that the accuser alone pings before a verdict, were tried: the accuser's path to the accused is the one that
    /// already failed, and false deaths came back; with every holder pinging, some ping gets through and its refutation
    /// spreads.)
    /// </summary>
    private void OnSuspected(Member member, PeerTime time, long now, string reason)
    {
        var timeout = SuspicionTimeout;
        SwimLog.Suspected(_logger, _discovery.Endpoint, member, reason, timeout);
        long deadline = now + (long)(timeout.TotalSeconds * _time.TimestampFrequency);
        lock (_gate)
        {
            _suspicions.Enqueue(new Suspicion(member, time), deadline);
            Enqueue(new SwimNewsItem(member, MemberState.Suspect, time));
        }
    }

    /// <summary>
    /// Suspicions whose time is up and that nobody refuted are not declared at once: this peer first pings the accused
    /// itself, with the accusation first in the ping (so a member that never heard of it refutes in its ack), waits a
    /// probe period (stretched by this peer's local health), pings once more, directly and through helpers, and declares
    /// it dead only if no newer time has arrived by the end of the second period (an unhealthy peer tries
    /// <see cref="MaxConfirmPings"/> times). A peer slowed by its own load would otherwise declare a death because the
    /// refutation had not reached it yet, or because one datagram was lost; a dead member costs two probe periods more.
    /// </summary>
    private void ConfirmSuspicions(long now, bool stalled)
    {
        while (true)
        {
            Suspicion due;
            lock (_gate)
            {
                if (!_suspicions.TryPeek(out due, out long deadline) || deadline > now)
                {
                    return;
                }

                _suspicions.Dequeue();
            }

            var state = due.Member.GetState(out var held);
            if (state != MemberState.Suspect || held != due.Time)
            {
                if (due.Pings > 0 && state is MemberState.Alive or MemberState.Suspect && held > due.Time)
                {
                    Interlocked.Increment(ref SavedByConfirmPing); // refuted (or restarted) while this peer was pinging it
                }

                continue; // refuted, restarted, already dead or purged
            }

            int health;
            bool hearing;
            lock (_gate)
            {
                health = _health;
                hearing = _lastAckOnTime >= due.LastPing; // an ack to this peer's own probe came back in time since its last confirmation ping
            }

            int pingLimit = health > 0 ? MaxConfirmPings : HealthyConfirmPings;

            // The pings are spent. A verdict is trusted only while this peer shows it hears answers: healthy, an ack to
            // one of its own probes back in time since its last confirmation ping, and this tick not after a stall of
            // its timers. Otherwise it waits another probe interval, sending nothing (answers to its pings may be
            // waiting, unread, behind its own backlog), up to MaxUntrustedWaits times.
            if (due.Pings >= pingLimit && (stalled || health > 0 || !hearing) && due.Waits < MaxUntrustedWaits)
            {
                Interlocked.Increment(ref UntrustedWaits);
                lock (_gate)
                {
                    _suspicions.Enqueue(due with { Waits = due.Waits + 1 }, now + (long)(_settings.ProbeInterval.TotalSeconds * _time.TimestampFrequency));
                }

                continue;
            }

            if (due.Pings < pingLimit)
            {
                var wait = _settings.ProbeInterval * (1 + health);
                lock (_gate)
                {
                    _suspicions.Enqueue(due with { Pings = due.Pings + 1, LastPing = now }, now + (long)(wait.TotalSeconds * _time.TimestampFrequency));
                }

                Interlocked.Increment(ref ConfirmPings);
                if (_logger.IsEnabled(LogLevel.Debug))
                {
                    SwimLog.ConfirmingSuspicion(_logger, _discovery.Endpoint, due.Member, due.Pings + 1, wait);
                }

                Send(due.Member.Endpoint, due.Member, SwimKind.Ping, 0, default, default, default, 0, default);
                if (due.Pings > 0)
                {
                    AskHelpers(due.Member, 0, accuse: true); // the direct path may be what fails: relayed acks carry the refutation too
                }

                continue;
            }

            if (_discovery.RecordVerdict(due.Member, due.Time, MemberState.Dead, now) == MembershipChange.Died)
            {
                SwimLog.Confirmed(_logger, _discovery.Endpoint, due.Member, SuspicionTimeout, due.Pings);
                lock (_gate)
                {
                    Enqueue(new SwimNewsItem(due.Member, MemberState.Dead, due.Time));
                }
            }
        }
    }

    // ---- receiving ----

    public bool Receive(PeerEndpoint source, ReadOnlySpan<byte> content, long now)
    {
        if (!SwimCodec.TryParse(content, out var view))
        {
            _discovery.BadInput(source, "a SWIM message", "malformed protobuf or unknown kind", "swim");
            return true;
        }

        // News first: an accusation against this peer is refuted before it answers, so the answer carries the newer time.
        bool accused = ApplyNews(source, view.Body, now, out var correction);
        Member? sender = null;
        if (!view.Sender.IsEmpty)
        {
            if (RecordAlive(source, view.Sender, now, firstHand: view.Kind != SwimKind.Ack || view.ReplyTo.IsEmpty, out var recorded))
            {
                sender = recorded;
            }
            else if (AliveCodec.TryParse(view.Sender, out var fields))
            {
                sender = _table.Find(fields.PkiId);
            }
        }

        switch (view.Kind)
        {
            case SwimKind.Ping:
                // Answer to whoever sent it; a relayed ping's ack goes back through the relay (reply_to is echoed).
                Send(source, sender, SwimKind.Ack, view.ProbeId, default, default, view.ReplyTo, view.ReplyProbeId, default, correction);
                break;

            case SwimKind.Ack when !view.ReplyTo.IsEmpty:
                // This peer relayed the probe: pass the target's ack on to the peer that asked.
                if (EndpointText.TryParse(view.ReplyTo, out var requester))
                {
                    Send(requester, null, SwimKind.Ack, view.ReplyProbeId, default, default, default, 0, view.Sender);
                }

                break;

            case SwimKind.Ack:
                lock (_gate)
                {
                    if (view.ProbeId != 0 && view.ProbeId == _probeId && sender is not null && ReferenceEquals(sender, _target))
                    {
                        _acked = true;
                        _health = Math.Max(0, _health - 1);
                        _acksOnTime++;
                        _lastAckOnTime = now;
                    }
                    else if (view.ProbeId != 0 && view.ProbeId < _probeId)
                    {
                        // An ack to an earlier probe: it was answered, this peer just got the answer late. Lifeguard's local
                        // health: until acks are on time again, this peer's silence verdicts are not to be trusted.
                        _health = Math.Min(MaxHealth, _health + 2);
                        Interlocked.Increment(ref LateAcks);
                    }
                }

                break;

            case SwimKind.Gossip:
                if (accused || correction is not null)
                {
                    Send(source, sender, SwimKind.Gossip, 0, default, default, default, 0, default, correction);
                }

                break;

            case SwimKind.PingReq:
                if (!EndpointText.TryParse(view.TargetEndpoint, out var targetEndpoint))
                {
                    _discovery.BadInput(source, "a SWIM ping-req", "its target endpoint is not host:port", "swim");
                    break;
                }

                Span<byte> replyTo = stackalloc byte[EndpointText.MaxLength];
                int length = EndpointText.Format(source, replyTo);
                Send(targetEndpoint, _table.Find(view.TargetPkiId), SwimKind.Ping, 0, default, default, replyTo[..length], view.ProbeId, default);
                break;
        }

        return true;
    }

    /// <summary>
    /// Applies the news of a message; true when it accused this peer, and in <paramref name="correction"/> a member the
    /// sender holds a verdict about that this peer knows is out of date (the caller answers the sender with both).
    /// </summary>
    private bool ApplyNews(PeerEndpoint source, ReadOnlySpan<byte> body, long now, out Member? correction)
    {
        var reader = new SwimCodec.NewsReader(body);
        var self = _discovery.PkiId;
        bool accused = false;
        correction = null;
        while (reader.TryRead(out var news))
        {
            if (news.State == MemberState.Alive)
            {
                // Recorded like a heartbeat: newer wins. An alive news item that changed the view is passed on (OnRecorded).
                if (!news.Alive.IsEmpty)
                {
                    RecordAlive(source, news.Alive, now, firstHand: false, out _);
                }

                continue;
            }

            if (news.PkiId.SequenceEqual(self))
            {
                if (_discovery.Refute(news.Time))
                {
                    var own = _discovery.OwnTime;
                    SwimLog.Refuted(_logger, _discovery.Endpoint, news.State, news.Time.SeqNum, own.SeqNum);
                    lock (_gate)
                    {
                        Enqueue(new SwimNewsItem(null, MemberState.Alive, own));
                    }
                }

                // Whoever passed the accusation on holds it: answer it directly with this peer's newer time (a refutation
                // already spread may have missed it, and it would otherwise declare this peer dead).
                accused |= news.Time.IncNum == _discovery.Incarnation;
                continue;
            }

            if (_table.Find(news.PkiId) is not { } member)
            {
                continue; // a verdict about a member this peer never knew: nothing to mark
            }

            // Every peer passes a verdict on ~4 log10(N) times, so most copies arrive when it is already held: judged
            // here against the member found, they skip the table's update path (a second lookup).
            if (member.HoldsAtLeast(news.Time, news.State, out var heldState, out var heldTime))
            {
                if (heldState == MemberState.Alive && heldTime > news.Time)
                {
                    correction ??= member; // the sender still spreads a suspicion or death the member has refuted since
                }

                continue;
            }

            var change = _discovery.RecordVerdict(member, news.Time, news.State, now);
            var state = member.GetState(out var held);
            if (change is MembershipChange.Stale or MembershipChange.Refreshed or MembershipChange.Rejected || held != news.Time)
            {
                // The sender still spreads a suspicion or death that the member has refuted since: tell it.
                if (change == MembershipChange.Stale && state == MemberState.Alive && held > news.Time)
                {
                    correction ??= member;
                }

                continue;
            }

            if (state == MemberState.Suspect)
            {
                OnSuspected(member, held, now, "reported by a peer");
            }
            else if (state == MemberState.Dead)
            {
                lock (_gate)
                {
                    Enqueue(new SwimNewsItem(member, MemberState.Dead, held));
                }
            }
        }

        if (reader.Malformed)
        {
            _discovery.BadInput(source, "a SWIM message's news", "malformed protobuf; the news before the fault were used", "swim");
        }

        return accused;
    }

    // ---- sending ----

    /// <summary>Queues news to piggyback (caller holds the gate); urgent news arms the gossip timer.</summary>
    private void Enqueue(in SwimNewsItem item)
    {
        _news.Add(item, NewsSize(item));
        ArmGossipLocked();
    }

    private int NewsSize(in SwimNewsItem item)
    {
        if (item.State != MemberState.Alive)
        {
            var pkiId = item.Member is null ? _discovery.PkiId : item.Member.PkiId;
            return ProtoSpanWriter.MessageFieldSize(SwimCodec.NewsField, SwimCodec.VerdictNewsSize(pkiId, item.State, item.Time));
        }

        Span<byte> endpoint = stackalloc byte[EndpointText.MaxLength];
        var fields = item.Member is null ? _discovery.OwnAliveFields() : _discovery.MemberAliveFields(item.Member, item.Time, endpoint);
        int alive = AliveCodec.MessageSize(fields) + 10; // PeerTime may grow by a few varint bytes by the time it is sent
        return ProtoSpanWriter.MessageFieldSize(SwimCodec.NewsField, ProtoSpanWriter.MessageFieldSize(4, alive));
    }

    /// <summary>
    /// Sends one SWIM message to <paramref name="to"/> (<paramref name="recipient"/>: the member there, when known),
    /// with this peer's alive message as sender (or <paramref name="relayedSender"/> when passing an ack on) and as many
    /// pending changes as fit — what this peer holds about <paramref name="first"/> first (an alive message, or a
    /// verdict), then news about the recipient itself.
    /// </summary>
    private void Send(PeerEndpoint to, Member? recipient, SwimKind kind, ulong probeId, ReadOnlySpan<byte> targetPkiId, ReadOnlySpan<byte> targetEndpoint,
        ReadOnlySpan<byte> replyTo, ulong replyProbeId, ReadOnlySpan<byte> relayedSender, Member? first = null)
    {
        if (to.IsEmpty)
        {
            return;
        }

        var body = ArrayPool<byte>.Shared.Rent(_bodyBudget);
        var datagram = ArrayPool<byte>.Shared.Rent(_transport.MaxDatagramPayload);
        try
        {
            var span = body.AsSpan(0, _bodyBudget);
            int position;
            if (relayedSender.IsEmpty)
            {
                var own = _discovery.OwnAliveFields();
                int ownSize = AliveCodec.MessageSize(own);
                Span<byte> self = ownSize <= 512 ? stackalloc byte[ownSize] : new byte[ownSize];
                AliveCodec.WriteMessage(self, own);
                position = SwimCodec.WriteHead(span, kind, probeId, self, targetPkiId, targetEndpoint, replyTo, replyProbeId);
            }
            else
            {
                position = SwimCodec.WriteHead(span, kind, probeId, relayedSender, targetPkiId, targetEndpoint, replyTo, replyProbeId);
            }

            lock (_gate)
            {
                AppendNews(span, ref position, recipient, first);
            }

            // One EnvelopeBatch record: the envelope's length, then the envelope.
            int envelopeLength = SwimCodec.EnvelopeSize(position);
            int header = ProtoSpanWriter.VarintSize((ulong)envelopeLength);
            var record = datagram.AsSpan();
            new ProtoSpanWriter(record).WriteVarint((ulong)envelopeLength);
            SwimCodec.WriteEnvelope(record[header..], span[..position]);
            int length = header + envelopeLength;
            var status = _transport.SendDatagram(to, record[..length]);
            if (status == SendStatus.Sent)
            {
                _discovery.Counters.DatagramSent(length);
            }
            else
            {
                _discovery.Counters.DatagramSendFailed();
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(datagram);
            ArrayPool<byte>.Shared.Return(body);
        }
    }

    /// <summary>
    /// Appends what this peer holds about <paramref name="first"/> (its alive message, or the verdict), then the
    /// recipient's own news, then pending changes (under <see cref="_gate"/>: <see cref="_taken"/> is shared).
    /// </summary>
    private void AppendNews(Span<byte> body, ref int position, Member? recipient, Member? first)
    {
        Span<byte> endpoint = stackalloc byte[EndpointText.MaxLength];
        if (first is not null)
        {
            var state = first.GetState(out var time);
            if (state is MemberState.Suspect or MemberState.Dead)
            {
                SwimCodec.TryAppendVerdict(body, ref position, first.PkiId, state, time);
            }
            else
            {
                SwimCodec.TryAppendAlive(body, ref position, AliveNow(first, endpoint));
            }
        }

        // Lifeguard's buddy rule: a recipient held suspect or dead hears it first, so it can refute at once.
        if (recipient is not null)
        {
            var state = recipient.GetState(out var time);
            if (state is MemberState.Suspect or MemberState.Dead)
            {
                SwimCodec.TryAppendVerdict(body, ref position, recipient.PkiId, state, time);
            }
        }

        int count = _news.Take(_taken, body.Length - position, MaxTransmits);

        for (int i = 0; i < count; i++)
        {
            var item = _taken[i];
            _taken[i] = default;
            if (ReferenceEquals(item.Member, recipient) && recipient is not null && item.State != MemberState.Alive)
            {
                continue; // already first
            }

            if (item.State != MemberState.Alive)
            {
                var pkiId = item.Info is null ? _discovery.PkiId : item.Info.PkiId;
                SwimCodec.TryAppendVerdict(body, ref position, pkiId, item.State, item.Time);
            }
            else
            {
                // Alive news goes out with the member's time as held now (it may have moved on since it was queued).
                var fields = item.Member is null ? _discovery.OwnAliveFields() : AliveNow(item.Member, endpoint);
                SwimCodec.TryAppendAlive(body, ref position, fields);
            }
        }
    }

    private AliveFields AliveNow(Member member, Span<byte> endpoint)
    {
        member.GetState(out var time);
        return _discovery.MemberAliveFields(member, time, endpoint);
    }

    private static Span<Member> Scratch(int length)
    {
        var scratch = _scratch;
        if (scratch is null || scratch.Length < length)
        {
            _scratch = scratch = new Member[Math.Max(length, GossipFanout)];
        }

        return scratch.AsSpan(0, length);
    }

    private readonly record struct Suspicion(Member Member, PeerTime Time, int Pings = 0, long LastPing = 0, int Waits = 0);

    private readonly struct NotFilter(Member excluded) : IPeerFilter
    {
        public bool Matches(Member member) => !ReferenceEquals(member, excluded);
    }
}
