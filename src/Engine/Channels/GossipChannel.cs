using System.Buffers.Binary;
using System.Text;
using Engine.Election;
using Engine.Gossip;
using Engine.Gossip.Pull;
using Engine.Ledger;
using Engine.Membership;
using Engine.Ordering;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Member = Engine.Membership.Member;
using PeerTime = Engine.Membership.PeerTime;

namespace Engine.Channels;

/// <summary>
/// One channel at one peer: its ledger (<see cref="BlockStore"/>), the StateInfo of its members (the channel's
/// membership view), the election of this peer's org (<see cref="LeaderElectionService"/>, this class being its
/// adapter), the delivery stream to the orderer (open only while this peer leads) and block pull within the window.
/// Blocks, StateInfo and leadership messages travel through the node's channel disseminator (<see cref="ChannelManager"/>).
/// </summary>
/// <remarks>
/// Lock order: the election's lock may be held when this class's lock is taken (the adapter), never the reverse; the
/// ledger's lock may be held when this class's lock is taken (the commit callback), never the reverse.
/// </remarks>
internal sealed class GossipChannel : IMemberPredicate, ILeaderElectionAdapter, IDisposable
{
    private readonly ChannelManager _host;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly Dictionary<byte[], StateEntry> _states = new(PkiIdComparer.Instance);
    private readonly Dictionary<byte[], StateEntry>.AlternateLookup<ReadOnlySpan<byte>> _stateLookup;
    private readonly Dictionary<byte[], long> _declarations = new(PkiIdComparer.Instance);
    private readonly List<ITimer> _timers = [];
    private readonly LeaderElectionService _election;
    private readonly DeliveryClient _delivery;
    private readonly BlockPullSource _pullSource;
    private readonly PullEngine _pull;
    private readonly OrgsPredicate _orgs = new();
    private byte[]? _ownState;
    private ulong _stateSeq;
    private ulong _publishedHeight;
    private long _lastPublished;
    private long _deliveries;
    private long _belowHeight;
    private ulong _requestedFrom = ulong.MaxValue;
    private ulong _gapHeight = ulong.MaxValue;
    private long _gapSince;
    private ITimer? _gapTimer;
    private bool _gapTimerArmed;
    private PeerEndpoint _gapSource;
    private readonly Random _gapRandom;
    private readonly Random _publishRandom;
    private ITimer? _publishSoon;
    private bool _publishSoonArmed;
    private ulong _gapReceived;
    private long _requestedAt;
    private bool _disposed;

    public GossipChannel(ChannelManager host, ReadOnlySpan<byte> genesisBlock, PeerEndpoint orderer)
    {
        _host = host;
        _logger = host.LoggerFactory.CreateLogger("Engine.Channels");
        _stateLookup = _states.GetAlternateLookup<ReadOnlySpan<byte>>();
        var options = host.Options;
        Store = BlockStore.Join(genesisBlock, options.Ledger, host.Time, host.LoggerFactory.CreateLogger("Engine.Ledger"), host.PeerName, OnCommitted);
        Id = Store.ChannelId;
        IdBytes = Encoding.UTF8.GetBytes(Id);
        _orgs.Update(Store.Config);
        Orderer = orderer;
        _pullSource = new BlockPullSource(Store, options.Ledger);
        var route = new GossipRoute { Org = host.Org, Predicate = this };
        _gapRandom = host.NewRandom();
        _publishRandom = host.NewRandom();
        _pull = new PullEngine(PullOptions.From(options), _pullSource, host.Transport, host.Table, route, host.Time, host.NewRandom(), host.LoggerFactory.CreateLogger("Engine.Gossip"));
        _delivery = new DeliveryClient(host.Transport, orderer, Id, host.Org, host.PeerName, () => Store.Height, OnDelivered, host.Time,
            options.OrdererRetryInterval, host.LoggerFactory.CreateLogger("Engine.Ordering"));
        StateTransfer = new StateTransfer(this, host, Store);
        _election = new LeaderElectionService(host.PkiId, host.PeerName, host.Org, Id, options.Election, this, host.Time,
            host.LoggerFactory.CreateLogger("Engine.Election"), OnLeadershipChanged);
    }

    public string Id { get; }

    public byte[] IdBytes { get; }

    public BlockStore Store { get; }

    public PeerEndpoint Orderer { get; }

    public DeliveryClient Delivery => _delivery;

    public PullEngine Pull => _pull;

    /// <summary>State transfer: the anti-entropy loop, gap requests, and answers to other peers' requests.</summary>
    public StateTransfer StateTransfer { get; }

    public bool IsLeader => _election.IsLeader;

    /// <summary>Peers of an org that belongs to the channel (StateInfo's route, Fabric's CHAN_OR_ORG).</summary>
    public IMemberPredicate InChannelOrgs => _orgs;

    /// <summary>The orgs of the channel's current configuration.</summary>
    public IReadOnlyCollection<string> Orgs => _orgs.All;

    /// <summary>True when <paramref name="org"/> is in the channel's current configuration.</summary>
    public bool HasOrg(string org) => _orgs.Contains(org);

    /// <summary>Blocks the orderer delivered to this peer.</summary>
    public long Deliveries => Interlocked.Read(ref _deliveries);

    /// <summary>Blocks pull brought that push had missed.</summary>
    public long PullRepairs => _pullSource.Repaired;

    /// <summary>Pushed blocks dropped because they were below the ledger height.</summary>
    public long BelowHeight => Interlocked.Read(ref _belowHeight);

    /// <summary>Publishes this peer's state, starts block pull, the StateInfo timers and the election; contacts the anchors of block #0.</summary>
    public void Start()
    {
        var options = _host.Options;
        PublishState();
        _pull.Start();
        StateTransfer.Start();
        lock (_timers)
        {
            // Both periodic timers start at a random phase of their interval (memberlist's stagger): peers that join
            // together would otherwise publish and pull in step for as long as they run. In the 2 x 50-peer blocks run
            // all 100 StateInfos flooded at once every 4 s (~30,000 receptions), and the two cores spent ~0.6 s on
            // nothing else: each org's leader stopped relaying for ~0.5 s, setting the run's p99.
            _timers.Add(_host.Time.CreateTimer(static s => ((GossipChannel)s!).OnPublishTick(), this, Stagger(options.PublishStateInfoInterval), options.PublishStateInfoInterval));
            _timers.Add(_host.Time.CreateTimer(static s => ((GossipChannel)s!).RequestStates(), this, Stagger(options.RequestStateInfoInterval), options.RequestStateInfoInterval));
            _gapTimer = _host.Time.CreateTimer(static s => ((GossipChannel)s!).OnGapTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timers.Add(_gapTimer);
            _publishSoon = _host.Time.CreateTimer(static s => ((GossipChannel)s!).OnPublishSoon(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            _timers.Add(_publishSoon);
        }

        RequestStates(); // a joining peer asks for the channel's states at once; later rounds follow the staggered timer
        ConnectToAnchors(Store.Config);
        _election.Start();
    }

    /// <summary>A random first delay within <paramref name="interval"/> (at least 1 ms, so a timer of zero due is never made).</summary>
    private TimeSpan Stagger(TimeSpan interval)
    {
        lock (_gate)
        {
            return TimeSpan.FromMilliseconds(Math.Max(1, interval.TotalMilliseconds * _publishRandom.NextDouble()));
        }
    }

    /// <summary>Steps aside as leader (Fabric's Yield); false when this peer is not a dynamically elected leader.</summary>
    public bool Yield() => _election.Yield();

    // ---- the membership view (StateInfo) ----

    /// <summary>A StateInfo of this channel was accepted by the disseminator (new, or newer than the one held).</summary>
    public void OnStateInfo(ReadOnlySpan<byte> envelope, in StateInfoFields fields)
    {
        if (fields.PkiId.SequenceEqual(_host.PkiId))
        {
            return;
        }

        lock (_gate)
        {
            var time = new PeerTime(fields.IncNum, fields.SeqNum);
            if (_stateLookup.TryGetValue(fields.PkiId, out var held) && held.Time >= time)
            {
                return;
            }

            bool added = held is null;
            var entry = new StateEntry(fields.PkiId.ToArray(), time, fields.LedgerHeight, envelope.ToArray());
            _states[entry.PkiId] = entry;
            if (added && _logger.IsEnabled(LogLevel.Information))
            {
                var member = _host.Table.Find(fields.PkiId);
                ChannelLog.MemberJoined(_logger, _host.PeerName, Id, member?.Endpoint ?? default, member?.Org ?? "?", fields.LedgerHeight);
            }
        }
    }

    /// <summary>True when <paramref name="member"/> is alive and has published its state in the channel (block routes).</summary>
    public bool Matches(Member member)
    {
        lock (_gate)
        {
            return _stateLookup.ContainsKey(member.PkiId);
        }
    }

    /// <summary>The StateInfo envelopes held (this peer's included), for a StateInfoSnapshot.</summary>
    public List<byte[]> StateEnvelopes()
    {
        lock (_gate)
        {
            var list = new List<byte[]>(_states.Count + 1);
            list.AddRange(_states.Values.Select(s => s.Envelope));
            if (_ownState is not null)
            {
                list.Add(_ownState);
            }

            return list;
        }
    }

    /// <summary>The highest ledger height an alive peer of the channel advertises in its StateInfo (0 when none).</summary>
    public ulong MaxAdvertisedHeight()
    {
        ulong max = 0;
        lock (_gate)
        {
            foreach (var state in _states.Values)
            {
                if (state.Height > max && _host.Table.Find(state.PkiId) is { } member && IsAliveState(member.State))
                {
                    max = state.Height;
                }
            }
        }

        return max;
    }

    /// <summary>Adds the endpoints of the alive peers of the channel whose advertised height is above <paramref name="number"/> (they hold that block).</summary>
    public void PeersAbove(ulong number, List<PeerEndpoint> into)
    {
        lock (_gate)
        {
            foreach (var state in _states.Values)
            {
                if (state.Height > number && _host.Table.Find(state.PkiId) is { } member && IsAliveState(member.State) && !member.Endpoint.IsEmpty)
                {
                    into.Add(member.Endpoint);
                }
            }
        }

        into.Sort(static (a, b) => a.CompareTo(b)); // a deterministic order for the seeded choice
    }

    /// <summary>Adds the PKI-IDs of this org's alive peers with StateInfo in the channel (not this peer): a relay tree's peers.</summary>
    public void RelayTargets(List<byte[]> into)
    {
        lock (_gate)
        {
            foreach (var state in _states.Values)
            {
                if (_host.Table.Find(state.PkiId) is { } member && BlockRelay.IsRelayPeer(member, _host.Org))
                {
                    into.Add(state.PkiId);
                }
            }
        }
    }

    /// <summary>True when <paramref name="endpoint"/> is a peer with StateInfo in the channel (any of its endpoints).</summary>
    public bool IsChannelPeer(PeerEndpoint endpoint)
    {
        lock (_gate)
        {
            foreach (var state in _states.Values)
            {
                if (_host.Table.Find(state.PkiId) is { } member
                    && (member.Endpoint == endpoint || member.InternalEndpoint == endpoint || member.ExternalEndpoint == endpoint))
                {
                    return true;
                }
            }
        }

        return false;
    }

    public ChannelView GetView()
    {
        ulong height = Store.Height;
        bool leader = _election.IsLeader;
        var members = new List<ChannelMember>();
        var leaders = new List<ChannelMember>();
        long now = _host.Time.GetTimestamp();
        long threshold = (long)(_host.Options.Election.LeaderAliveThreshold.TotalSeconds * _host.Time.TimestampFrequency);
        lock (_gate)
        {
            foreach (var state in _states.Values)
            {
                if (_host.Table.Find(state.PkiId) is { } member && IsAliveState(member.State))
                {
                    members.Add(new ChannelMember(Convert.ToHexStringLower(state.PkiId), member.Endpoint, member.Org, state.Height));
                }
            }

            foreach (var (pki, heard) in _declarations)
            {
                if (now - heard <= threshold && _host.Table.Find(pki) is { } member && IsAliveState(member.State))
                {
                    ulong h = _stateLookup.TryGetValue(pki, out var s) ? s.Height : 0;
                    leaders.Add(new ChannelMember(Convert.ToHexStringLower(pki), member.Endpoint, member.Org, h));
                }
            }
        }

        if (leader)
        {
            leaders.Add(new ChannelMember(Convert.ToHexStringLower(_host.PkiId), _host.Endpoint, _host.Org, height));
        }

        members.Sort(static (a, b) => a.Endpoint.CompareTo(b.Endpoint));
        leaders.Sort(static (a, b) => a.Endpoint.CompareTo(b.Endpoint));
        return new ChannelView(Id, height, leader, leaders, members);
    }

    private static bool IsAliveState(MemberState state) => state is MemberState.Alive or MemberState.Suspect;

    private void OnPublishTick()
    {
        if (Store.Height != Volatile.Read(ref _publishedHeight))
        {
            PublishState();
        }
    }

    /// <summary>Publishes this peer's StateInfo (ledger height) through the channel disseminator, signed through the seam.</summary>
    private void PublishState()
    {
        byte[] envelope;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            ulong height = Store.Height;
            var payload = ChannelMessages.StateInfoPayload(IdBytes, _host.PkiId, _host.Incarnation, ++_stateSeq, height);
            envelope = ChannelMessages.Seal(payload, _host.Signer.Sign(payload));
            _ownState = envelope;
            Volatile.Write(ref _publishedHeight, height);
            _lastPublished = _host.Time.GetTimestamp();
        }

        _host.Disseminator.Publish(envelope);
    }

    /// <summary>Asks up to pullPeerNum random peers of the channel's orgs for the StateInfo they hold.</summary>
    private void RequestStates()
    {
        try
        {
            if (_disposed)
            {
                return;
            }

            var picked = new Member[_host.Options.PullPeerNum];
            int count = _host.Table.Sample(picked, new PredicateFilter(_orgs));
            if (count == 0)
            {
                return;
            }

            var request = ChannelMessages.PullRequest(IdBytes, _host.PkiId);
            for (int i = 0; i < count; i++)
            {
                _host.Transport.SendFrame(picked[i].Endpoint, request);
            }
        }
        catch (Exception e)
        {
            ChannelLog.TimerFailed(_logger, e, _host.PeerName, Id);
        }
    }

    // ---- election (ILeaderElectionAdapter) ----

    public void Gossip(in LeadershipFields message)
    {
        int size = LeadershipCodec.EnvelopeSize(IdBytes, message, 0);
        var unsigned = new byte[size];
        LeadershipCodec.WritePayload(unsigned, IdBytes, message, out var range);
        var payload = unsigned.AsSpan(range);
        _host.Disseminator.Publish(ChannelMessages.Seal(payload, _host.Signer.Sign(payload)));
    }

    public int PeerCount
    {
        get
        {
            int count = 0;
            lock (_gate)
            {
                foreach (var state in _states.Values)
                {
                    if (IsOrgPeer(state.PkiId))
                    {
                        count++;
                    }
                }
            }

            return count;
        }
    }

    public bool IsAlive(ReadOnlySpan<byte> pkiId)
    {
        lock (_gate)
        {
            return _stateLookup.ContainsKey(pkiId) && IsOrgPeer(pkiId);
        }
    }

    private bool IsOrgPeer(ReadOnlySpan<byte> pkiId) =>
        _host.Table.Find(pkiId) is { } member && IsAliveState(member.State) && string.Equals(member.Org, _host.Org, StringComparison.Ordinal);

    /// <summary>A leadership message of this channel was accepted by the disseminator: for the election when it is of this org.</summary>
    public void OnLeadership(in LeadershipFields fields)
    {
        if (fields.PkiId.SequenceEqual(_host.PkiId) || _host.Table.Find(fields.PkiId) is not { } member
            || !string.Equals(member.Org, _host.Org, StringComparison.Ordinal))
        {
            return;
        }

        if (fields.IsDeclaration)
        {
            lock (_gate)
            {
                _declarations[fields.PkiId.ToArray()] = _host.Time.GetTimestamp();
            }
        }

        _election.HandleMessage(in fields);
    }

    private void OnLeadershipChanged(bool leader)
    {
        if (leader)
        {
            ChannelLog.OpeningDelivery(_logger, _host.PeerName, Id, Orderer, Store.Height);
            _delivery.Open();
        }
        else
        {
            ChannelLog.ClosingDelivery(_logger, _host.PeerName, Id, Orderer);
            _delivery.Close();
        }
    }

    // ---- blocks ----

    /// <summary>A block from the orderer (this peer leads): pushed to the org through the disseminator, which commits it here.</summary>
    private void OnDelivered(ReadOnlySpan<byte> envelope, PeerEndpoint orderer)
    {
        Interlocked.Increment(ref _deliveries);
        if (BlockCodec.TryRead(envelope, out var block) is null && block.Sequence < Store.Height)
        {
            Interlocked.Increment(ref _belowHeight);
            return;
        }

        if (_host.Relay is { } relay)
        {
            relay.Start(this, envelope);
            Store.Offer(envelope, orderer);
            return;
        }

        if (_host.Disseminator.Publish(envelope) != ReceiveOutcome.Accepted)
        {
            Store.Offer(envelope, orderer); // already held by the store of messages (pushed earlier): still offer it to the ledger
        }
    }

    /// <summary>Ingress filter of pushed blocks: false (dropped, counted) for a block below the ledger height.</summary>
    public bool AcceptsPushed(ulong sequence)
    {
        if (sequence < Store.Height)
        {
            Interlocked.Increment(ref _belowHeight);
            return false;
        }

        return true;
    }

    /// <summary>
    /// A block accepted by the disseminator (pushed, or published here after delivery): offered to the ledger. A block
    /// that lands beyond a gap (buffered, or too far ahead) asks for the missing ones once the gap has stayed open for
    /// <see cref="GapGrace"/> (<see cref="RequestMissing"/>).
    /// </summary>
    public void OnBlock(ReadOnlySpan<byte> envelope, PeerEndpoint source)
    {
        var result = Store.Offer(envelope, source.IsEmpty ? Orderer : source);
        if (result is OfferResult.Buffered or OfferResult.TooFarAhead && !source.IsEmpty && BlockCodec.TryRead(envelope, out var block) is null)
        {
            RequestMissing(source, block.Sequence);
        }
    }

    /// <summary>
    /// Block <paramref name="received"/> arrived while blocks from the ledger height on are missing: ask this org's leader
    /// (it committed them from the orderer moments ago), else the peer that pushed it, for at most state.batchSize of them,
    /// through state transfer's request path. At most one request per gap start every <see cref="StateRequestSpacing"/>;
    /// what the answer misses, the next block beyond the gap asks again, and pull and the anti-entropy loop repair too.
    /// </summary>
    private void RequestMissing(PeerEndpoint source, ulong received)
    {
        ulong height = Store.Height;
        if (received <= height)
        {
            return;
        }

        long now = _host.Time.GetTimestamp();
        long spacing = (long)(StateRequestSpacing.TotalSeconds * _host.Time.TimestampFrequency);
        var graceSpan = _host.Relay is null || received - height >= RelayOvertakenBy ? GapGrace : RelayGapGrace;
        long grace = (long)(graceSpan.TotalSeconds * _host.Time.TimestampFrequency);
        lock (_gate)
        {
            // Blocks pass each other on their way (different paths, lazy push's round trip): a gap usually closes by
            // itself within moments. Only one that is still open GapGrace after it was first seen is asked for.
            if (_gapHeight != height)
            {
                _gapHeight = height;
                _gapSince = now;
            }

            if (now - _gapSince < grace)
            {
                // Looked at again when the grace ends, even if no later block comes to reveal it (the last blocks of a
                // burst).
                _gapSource = source;
                _gapReceived = Math.Max(_gapReceived, received);
                if (!_gapTimerArmed && _gapTimer is { } timer && !_disposed)
                {
                    _gapTimerArmed = true;
                    timer.Change(TimeSpan.FromSeconds((grace - (now - _gapSince) + 1) / (double)_host.Time.TimestampFrequency), Timeout.InfiniteTimeSpan);
                }

                return;
            }

            if (_requestedFrom == height && now - _requestedAt < spacing)
            {
                return;
            }

            _requestedFrom = height;
            _requestedAt = now;
        }

        if (_host.Lazy.IsAsked(MessageId.ForBlock(IdBytes, height)) || StateTransfer.Awaits(height))
        {
            // The first missing block is on its way: lazy push asked for it (its own retry covers a lost answer), or a
            // state request for it awaits its answer. Checked before choosing a target: every block arriving beyond the
            // gap comes here.
            return;
        }

        ulong end = Math.Min(received - 1, height + (ulong)_host.Options.State.BatchSize - 1);
        StateTransfer.RequestGap(GapTarget(source, end), height, end, received);
    }

    /// <summary>
    /// Whom to ask for a gap up to block <paramref name="end"/>: a random peer of the channel whose advertised height
    /// covers it — the load of many peers' gaps spread over the channel, not all on this org's leader — else the leader,
    /// else the peer that pushed the block beyond the gap.
    /// </summary>
    private PeerEndpoint GapTarget(PeerEndpoint source, ulong end)
    {
        var candidates = new List<PeerEndpoint>();
        PeersAbove(end, candidates);
        candidates.Remove(_host.Endpoint);
        if (candidates.Count > 0)
        {
            lock (_gapRandom)
            {
                return candidates[_gapRandom.Next(candidates.Count)];
            }
        }

        return CurrentLeader() is { } leader && leader != _host.Endpoint ? leader : source;
    }

    /// <summary>The gap grace ended: if the gap it was armed for is still open, ask for it.</summary>
    private void OnGapTimer()
    {
        PeerEndpoint source;
        ulong received;
        lock (_gate)
        {
            _gapTimerArmed = false;
            source = _gapSource;
            received = _gapReceived;
            _gapReceived = 0;
        }

        try
        {
            if (received > Store.Height && !source.IsEmpty)
            {
                RequestMissing(source, received);
            }
        }
        catch (Exception e)
        {
            ChannelLog.TimerFailed(_logger, e, _host.PeerName, Id);
        }
    }

    /// <summary>How long a gap below a received block may stay open before it is asked for (blocks overtaking each other close theirs sooner).</summary>
    public static readonly TimeSpan GapGrace = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The gap grace when blocks travel the relay tree. Blocks arrive in order along one tree, but not across a change
    /// of tree (a reshuffle, a peer joining or leaving) or a failed send handed to another peer, and under load a
    /// tree's depth takes hundreds of milliseconds. With the 50 ms grace and a tree drawn per block (the first version),
    /// reordering set off a storm of state requests: at 20 blocks/s, 2 x 50 peers, 16,786 blocks served from archives
    /// for 20,000 commits.
    /// </summary>
    public static readonly TimeSpan RelayGapGrace = TimeSpan.FromSeconds(1);

    /// <summary>
    /// With the relay tree, a gap is asked for after <see cref="GapGrace"/> once this many blocks beyond it have arrived:
    /// a block overtaken by that many later ones is more likely lost than late (and the reorder buffer would fill while
    /// waiting the full <see cref="RelayGapGrace"/> at a high block rate).
    /// </summary>
    public const int RelayOvertakenBy = 4;

    /// <summary>How long a state request for the same gap is not repeated.</summary>
    public static readonly TimeSpan StateRequestSpacing = TimeSpan.FromMilliseconds(50);

    /// <summary>The leader of this org this peer heard declare most recently (within the leader alive threshold), if any.</summary>
    private PeerEndpoint? CurrentLeader()
    {
        long now = _host.Time.GetTimestamp();
        long threshold = (long)(_host.Options.Election.LeaderAliveThreshold.TotalSeconds * _host.Time.TimestampFrequency);
        byte[]? best = null;
        long bestHeard = long.MinValue;
        lock (_gate)
        {
            foreach (var (pki, heard) in _declarations)
            {
                if (now - heard <= threshold && heard > bestHeard)
                {
                    (best, bestHeard) = (pki, heard);
                }
            }
        }

        return best is not null && _host.Table.Find(best) is { } member && IsAliveState(member.State) ? member.Endpoint : null;
    }

    private void OnCommitted(in CommittedBlock block)
    {
        DateTimeOffset? cutAt = null;
        if (block.Kind == BlockContentKind.Transactions && block.Content.Length >= 8)
        {
            long ticks = BinaryPrimitives.ReadInt64BigEndian(block.Content);
            if (ticks > DateTimeOffset.UnixEpoch.UtcTicks && ticks < DateTimeOffset.MaxValue.UtcTicks)
            {
                cutAt = new DateTimeOffset(ticks, TimeSpan.Zero);
            }
        }

        bool isConfig = block.Kind == BlockContentKind.Config;
        _host.RaiseCommitted(new BlockCommittedEvent(block.ChannelId, block.Number, isConfig, _host.Time.GetUtcNow(), cutAt));
        if (block.Number == 0)
        {
            return; // block #0 during Join: Start does the rest
        }

        if (isConfig && block.Config is { } config)
        {
            _orgs.Update(config);
            ConnectToAnchors(config);
        }

        // StateInfo carries the new height soon when the last one is older than the publish interval, else at the next
        // tick. "Soon" is a random moment within half an interval: every peer of a channel commits a block within
        // milliseconds of the others, so publishing at once made them all flood their StateInfo together (100 peers,
        // each StateInfo received about 3 times by each: ~30,000 receptions at once). In the 2 x 50-peer blocks run the
        // blocks cut right after the first one took ~1.2 s; with the spread they no longer do.
        var options = _host.Options;
        long interval = (long)(options.PublishStateInfoInterval.TotalSeconds * _host.Time.TimestampFrequency);
        if (_host.Time.GetTimestamp() - Volatile.Read(ref _lastPublished) >= interval)
        {
            lock (_gate)
            {
                if (_publishSoonArmed || _disposed || _publishSoon is not { } timer)
                {
                    return;
                }

                _publishSoonArmed = true;
                double delay = _publishRandom.NextDouble() * options.PublishStateInfoInterval.TotalMilliseconds / 2;
                timer.Change(TimeSpan.FromMilliseconds(delay), Timeout.InfiniteTimeSpan);
            }
        }
    }

    private void OnPublishSoon()
    {
        lock (_gate)
        {
            _publishSoonArmed = false;
        }

        try
        {
            if (Store.Height != Volatile.Read(ref _publishedHeight))
            {
                PublishState();
            }
        }
        catch (Exception e)
        {
            ChannelLog.TimerFailed(_logger, e, _host.PeerName, Id);
        }
    }

    /// <summary>Contacts every anchor peer of the config (other orgs' anchors are the only bridge to their peers).</summary>
    private void ConnectToAnchors(ChannelConfiguration config)
    {
        foreach (var org in config.Orgs)
        {
            foreach (var anchor in org.AnchorPeers)
            {
                _host.Discovery.ConnectToAnchor(anchor, org.OrgId);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
        }

        _host.Relay?.Forget(this);
        lock (_timers)
        {
            foreach (var timer in _timers)
            {
                timer.Dispose();
            }

            _timers.Clear();
        }

        StateTransfer.Dispose();
        _election.Dispose();
        _delivery.Dispose();
        _pull.Dispose();
        Store.Dispose();
    }

    private sealed record StateEntry(byte[] PkiId, PeerTime Time, ulong Height, byte[] Envelope);

    /// <summary>Members whose org is in the channel's configuration.</summary>
    private sealed class OrgsPredicate : IMemberPredicate
    {
        private volatile HashSet<string> _orgs = new(StringComparer.Ordinal);

        public void Update(ChannelConfiguration config) => _orgs = new HashSet<string>(config.Orgs.Select(o => o.OrgId), StringComparer.Ordinal);

        public bool Matches(Member member) => _orgs.Contains(member.Org);

        public bool Contains(string org) => _orgs.Contains(org);

        public IReadOnlyCollection<string> All => _orgs;
    }

    private readonly struct PredicateFilter(IMemberPredicate predicate) : IPeerFilter
    {
        public bool Matches(Member member) => predicate.Matches(member);
    }
}

/// <summary>Compares PKI-IDs by content, with span lookups.</summary>
internal sealed class PkiIdComparer : IEqualityComparer<byte[]>, IAlternateEqualityComparer<ReadOnlySpan<byte>, byte[]>
{
    public static readonly PkiIdComparer Instance = new();

    public bool Equals(byte[]? x, byte[]? y) => x.AsSpan().SequenceEqual(y);

    public int GetHashCode(byte[] obj) => GetHashCode((ReadOnlySpan<byte>)obj);

    public bool Equals(ReadOnlySpan<byte> alternate, byte[] other) => alternate.SequenceEqual(other);

    public int GetHashCode(ReadOnlySpan<byte> alternate)
    {
        var hash = new HashCode();
        hash.AddBytes(alternate);
        return hash.ToHashCode();
    }

    public byte[] Create(ReadOnlySpan<byte> alternate) => alternate.ToArray();
}
