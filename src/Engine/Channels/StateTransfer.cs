using System.Buffers;
using Engine.Diagnostics;
using Engine.Ledger;
using Engine.Transport;
using Microsoft.Extensions.Logging;

namespace Engine.Channels;

/// <summary>
/// Fabric's state transfer (<c>gossip/state</c>) for one channel at one peer, both ends.
/// <para>
/// <b>Requester.</b> Every <see cref="StateTransferOptions.CheckInterval"/> the anti-entropy loop compares the ledger
/// height with the highest height the channel's peers advertise in their StateInfo; when behind — and the ledger either
/// made no progress since the last check or trails by more than its reorder buffer (otherwise push is delivering the
/// blocks in flight, and asking for them would only fetch them twice) — it asks for the missing
/// blocks in batches of <see cref="StateTransferOptions.BatchSize"/> (a RemoteStateRequest with a fresh nonce) from a
/// random peer whose advertised height covers the batch, waits <see cref="StateTransferOptions.ResponseTimeout"/>, and
/// asks another peer up to <see cref="StateTransferOptions.MaxRetries"/> times; each answered batch asks for the next at
/// once, until the height reached the target (the round's "caught up" line). A block that lands beyond a gap asks for
/// the gap through the same request path (<see cref="RequestGap"/>), without retries (the next such block asks again).
/// </para>
/// <para>
/// A response is accepted only when its nonce names a request still outstanding, it comes from the peer that request
/// went to, and every block it carries is in the requested range; then each block goes to the ledger's in-order commit
/// path (<see cref="BlockStore.Offer"/>: committed, or held in the reorder buffer). Anything else — unrequested, replayed
/// or very late responses (past the grace below), another peer's answer, blocks out of range, more blocks than asked for, malformed payloads — is
/// dropped whole, counted and logged with the sender. A request is answered once: a replay finds no outstanding nonce.
/// An answer that comes after the response timeout from the peer asked is still taken for <see cref="LateGrace"/> more
/// timeouts (under load answers are slow, not wrong); only a request still awaited within its timeout keeps the same
/// blocks from being asked for again.
/// </para>
/// <para>
/// <b>Responder.</b> A request from a peer of the channel for at most BatchSize + 1 blocks (Fabric's limit) is answered
/// with the blocks the archive holds in that range (<see cref="LedgerOptions.ArchiveBlockCount"/>), up to
/// <see cref="StateTransferOptions.MaxResponseBytes"/>, possibly none; a reversed or larger range, or a requester that is
/// not a peer of the channel, is refused, counted and logged.
/// </para>
/// </summary>
/// <remarks>Lock order: this class's lock is never held while calling the ledger, the transport or the channel.</remarks>
internal sealed class StateTransfer : IDisposable
{
    /// <summary>Requests awaiting an answer at most (catch-up and gaps together); further gap requests wait for a slot.</summary>
    public const int MaxOutstanding = 16;

    /// <summary>
    /// How many response timeouts past its deadline a request's answer is still taken (late: the blocks are asked for
    /// again meanwhile only if needed, but an answer that does come is not thrown away); after that it is "unrequested".
    /// </summary>
    public const int LateGrace = 3;

    private readonly GossipChannel _channel;
    private readonly ChannelManager _host;
    private readonly StateTransferOptions _options;
    private readonly BlockStore _store;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _responseLog;
    private readonly LogRateLimiter _requestLog;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private readonly List<Outstanding> _outstanding = [];
    private readonly HashSet<PeerEndpoint> _tried = [];
    private readonly long _timeoutTicks;
    private ITimer? _tick;
    private ITimer? _timeout;
    private bool _disposed;

    // The catch-up round in progress (anti-entropy), under _gate.
    private bool _catchingUp;
    private ulong _target;
    private ulong _lastCheckedHeight = ulong.MaxValue;
    private ulong _roundFrom;
    private long _roundStarted;
    private ulong _roundNonce;
    private int _attempts;

    private long _catchUpRequests;
    private long _gapRequests;
    private long _blocksReceived;
    private long _blocksServed;
    private long _responsesRefused;
    private long _requestsRefused;

    public StateTransfer(GossipChannel channel, ChannelManager host, BlockStore store)
    {
        _channel = channel;
        _host = host;
        _store = store;
        _options = host.Options.State;
        _logger = host.LoggerFactory.CreateLogger("Engine.Channels");
        _responseLog = new LogRateLimiter(host.Time, TimeSpan.FromSeconds(1));
        _requestLog = new LogRateLimiter(host.Time, TimeSpan.FromSeconds(1));
        _random = host.NewRandom();
        _timeoutTicks = (long)(_options.ResponseTimeout.TotalSeconds * host.Time.TimestampFrequency);
    }

    /// <summary>Counters: catch-up and gap requests sent, blocks received (committed or buffered) and served, responses and requests refused.</summary>
    public StateTransferCounters Counters => new(
        Interlocked.Read(ref _catchUpRequests), Interlocked.Read(ref _gapRequests), Interlocked.Read(ref _blocksReceived),
        Interlocked.Read(ref _blocksServed), Interlocked.Read(ref _responsesRefused), Interlocked.Read(ref _requestsRefused));

    /// <summary>True while a catch-up round runs.</summary>
    public bool CatchingUp
    {
        get
        {
            lock (_gate)
            {
                return _catchingUp;
            }
        }
    }

    /// <summary>Starts the anti-entropy loop (when enabled): a check every CheckInterval.</summary>
    public void Start()
    {
        lock (_gate)
        {
            _timeout = _host.Time.CreateTimer(static s => ((StateTransfer)s!).OnTimeout(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (_options.Enabled)
            {
                _tick = _host.Time.CreateTimer(static s => ((StateTransfer)s!).AntiEntropy(), this, _options.CheckInterval, _options.CheckInterval);
            }
        }
    }

    // ---- requester: the anti-entropy loop ----

    /// <summary>One anti-entropy check: starts a catch-up round when a channel peer advertises a greater height than the ledger's.</summary>
    internal void AntiEntropy()
    {
        try
        {
            ulong height = _store.Height;
            ulong max = _channel.MaxAdvertisedHeight();
            lock (_gate)
            {
                ulong previous = _lastCheckedHeight;
                _lastCheckedHeight = height;
                if (_disposed || _catchingUp || max <= height)
                {
                    return;
                }

                // While blocks flow, every peer trails the leader by the blocks in flight: asking for those would fetch
                // what push is bringing anyway (under load, a storm of duplicate blocks). Catch up when the ledger made no
                // progress since the last check, or trails by more than the reorder buffer can take from push.
                if (previous != ulong.MaxValue && height != previous && max - height <= (ulong)_host.Options.Ledger.BlockBufferSize)
                {
                    return;
                }

                _catchingUp = true;
                _target = max;
                _roundFrom = height;
                _roundStarted = _host.Time.GetTimestamp();
                _attempts = 0;
                _tried.Clear();
            }

            RequestNextBatch();
        }
        catch (Exception e)
        {
            ChannelLog.TimerFailed(_logger, e, _host.PeerName, _channel.Id);
        }
    }

    /// <summary>Asks a peer for the next batch of the round, or ends the round (caught up, or out of peers and retries).</summary>
    private void RequestNextBatch()
    {
        ulong height = _store.Height;
        ulong start, end, target;
        int attempt;
        lock (_gate)
        {
            if (_disposed || !_catchingUp)
            {
                return;
            }

            target = _target;
            if (height >= target)
            {
                _catchingUp = false;
                long elapsed = Elapsed(_roundStarted);
                ChannelLog.CaughtUp(_logger, _host.PeerName, _channel.Id, height, _roundFrom, elapsed);
                return;
            }

            if (_attempts > _options.MaxRetries)
            {
                StopRoundLocked(height, $"{_attempts} peers asked for block {height}, none answered with it");
                return;
            }

            start = height;
            end = Math.Min(target - 1, height + (ulong)_options.BatchSize - 1);
            attempt = ++_attempts;
        }

        var candidates = new List<PeerEndpoint>();
        _channel.PeersAbove(end, candidates);
        PeerEndpoint peer;
        ulong nonce;
        lock (_gate)
        {
            if (_disposed || !_catchingUp)
            {
                return;
            }

            var fresh = candidates.Where(c => !_tried.Contains(c)).ToList();
            var pool = fresh.Count > 0 ? fresh : candidates;
            if (pool.Count == 0)
            {
                StopRoundLocked(height, $"no peer of the channel advertises block {end} any more");
                return;
            }

            peer = pool[_random.Next(pool.Count)];
            _tried.Add(peer);
            nonce = RegisterLocked(peer, start, end, catchUp: true);
            _roundNonce = nonce;
        }

        ChannelLog.RequestingBlocks(_logger, _host.PeerName, _channel.Id, height, target, start, end, peer,
            attempt > 1 ? $" (attempt {attempt} of {_options.MaxRetries + 1})" : string.Empty);
        Interlocked.Increment(ref _catchUpRequests);
        ChannelMetrics.StateRequestsSent.Add(1, ChannelMetrics.Tag("kind", "catch_up"));
        _timeout?.Change(_options.ResponseTimeout, Timeout.InfiniteTimeSpan);
        _host.Transport.SendFrame(peer, ChannelMessages.StateRequest(_channel.IdBytes, nonce, start, end));
    }

    private void StopRoundLocked(ulong height, string reason)
    {
        _catchingUp = false;
        ChannelLog.CatchUpStopped(_logger, _host.PeerName, _channel.Id, height, _target, reason, _options.CheckInterval);
    }

    /// <summary>The round's request timer: when its request is still unanswered past the timeout, ask another peer.</summary>
    private void OnTimeout()
    {
        try
        {
            Outstanding timedOut;
            lock (_gate)
            {
                int index = FindLocked(_roundNonce);
                if (_disposed || !_catchingUp || index < 0)
                {
                    return; // answered meanwhile
                }

                timedOut = _outstanding[index];
                if (timedOut.TimedOut || _host.Time.GetTimestamp() < timedOut.Deadline)
                {
                    return; // a stale firing of an earlier arming
                }

                // Kept (not awaited any more): its answer may still come, late, and is taken then (see LateGrace).
                _outstanding[index] = timedOut with { TimedOut = true };
            }

            ChannelMetrics.StateTimeouts.Add(1);
            ChannelLog.ResponseTimedOut(_logger, _host.PeerName, _channel.Id, timedOut.Peer, timedOut.Start, timedOut.End, _options.ResponseTimeout);
            RequestNextBatch();
        }
        catch (Exception e)
        {
            ChannelLog.TimerFailed(_logger, e, _host.PeerName, _channel.Id);
        }
    }

    // ---- requester: gaps below a block that arrived ----

    /// <summary>Asks <paramref name="target"/> for blocks <paramref name="start"/>..<paramref name="end"/> (a gap below block <paramref name="received"/>).</summary>
    public void RequestGap(PeerEndpoint target, ulong start, ulong end, ulong received)
    {
        ulong nonce;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            PruneExpiredLocked();
            if (LiveCountLocked() >= MaxOutstanding)
            {
                return; // the answers to the requests in flight come first; the next block beyond the gap asks again
            }

            if (CoversLocked(start))
            {
                // Asked already and not timed out: under load the answer is slow, not lost (framed TCP); asking again
                // would only send the same blocks twice and make the load worse.
                return;
            }

            nonce = RegisterLocked(target, start, end, catchUp: false);
        }

        ChannelLog.RequestingGap(_logger, _host.PeerName, _channel.Id, target, start, end, received);
        Interlocked.Increment(ref _gapRequests);
        ChannelMetrics.StateRequestsSent.Add(1, ChannelMetrics.Tag("kind", "gap"));
        _host.Transport.SendFrame(target, ChannelMessages.StateRequest(_channel.IdBytes, nonce, start, end));
    }

    private ulong RegisterLocked(PeerEndpoint peer, ulong start, ulong end, bool catchUp)
    {
        PruneExpiredLocked();
        long now = _host.Time.GetTimestamp();
        if (_outstanding.Count >= 4 * MaxOutstanding)
        {
            _outstanding.RemoveAt(0); // the oldest (timed out: at most MaxOutstanding are awaited) stops waiting for a late answer
        }

        int oldestGap = _outstanding.FindIndex(o => !o.CatchUp && o.Live(now));
        if (LiveCountLocked() >= MaxOutstanding && oldestGap >= 0)
        {
            _outstanding.RemoveAt(oldestGap); // a catch-up request always gets a slot
        }

        ulong nonce;
        do
        {
            nonce = (ulong)_random.NextInt64(1, long.MaxValue);
        }
        while (FindLocked(nonce) >= 0);

        _outstanding.Add(new Outstanding(nonce, peer, start, end, now + _timeoutTicks, catchUp));
        return nonce;
    }

    /// <summary>Forgets the requests whose late answer would come past <see cref="LateGrace"/> responses timeouts after their deadline.</summary>
    private void PruneExpiredLocked()
    {
        long now = _host.Time.GetTimestamp();
        long late = _timeoutTicks * LateGrace;
        _outstanding.RemoveAll(o => now >= o.Deadline + late && (!o.CatchUp || o.TimedOut));
    }

    private int LiveCountLocked()
    {
        long now = _host.Time.GetTimestamp();
        int live = 0;
        foreach (var o in _outstanding)
        {
            if (o.Live(now))
            {
                live++;
            }
        }

        return live;
    }

    /// <summary>True while a request awaiting its answer (gap or catch-up, within its timeout) asks for block <paramref name="number"/>.</summary>
    public bool Awaits(ulong number)
    {
        lock (_gate)
        {
            return CoversLocked(number);
        }
    }

    /// <summary>True when a request still awaiting its answer (gap or catch-up) asks for block <paramref name="number"/>.</summary>
    private bool CoversLocked(ulong number)
    {
        long now = _host.Time.GetTimestamp();
        foreach (var o in _outstanding)
        {
            if (o.Live(now) && o.Start <= number && number <= o.End)
            {
                return true;
            }
        }

        return false;
    }

    private int FindLocked(ulong nonce)
    {
        for (int i = 0; i < _outstanding.Count; i++)
        {
            if (_outstanding[i].Nonce == nonce)
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>A RemoteStateResponse (field 19's content) from <paramref name="source"/> answering <paramref name="nonce"/>.</summary>
    public void OnResponse(PeerEndpoint source, ulong nonce, ReadOnlySpan<byte> content)
    {
        Outstanding request;
        bool late = false;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            int index = FindLocked(nonce);
            if (index < 0)
            {
                RefuseResponse(source, "unrequested", $"no request with nonce {nonce} is outstanding (unrequested, replayed or already answered)");
                return;
            }

            request = _outstanding[index];
            if (request.Peer != source)
            {
                RefuseResponse(source, "wrong_sender", $"it answers the request for blocks {request.Start}-{request.End} sent to {request.Peer}");
                return;
            }

            _outstanding.RemoveAt(index);
            if (_host.Time.GetTimestamp() >= request.Deadline)
            {
                // Late, from the peer asked, for the blocks asked: under load an answer is slow, not wrong; refusing it
                // would only have the blocks sent again.
                late = true;
            }
        }

        var blocks = Validate(source, content, request);
        if (blocks is not null)
        {
            ChannelMetrics.StateResponsesReceived.Add(1, ChannelMetrics.Tag("result", late ? "accepted_late" : "accepted"));
            long received = 0;
            foreach (var block in blocks)
            {
                if (_store.Offer(block, source) is OfferResult.Committed or OfferResult.Buffered)
                {
                    received++;
                }
            }

            Interlocked.Add(ref _blocksReceived, received);
            ChannelMetrics.StateBlocksReceived.Add(received);
        }

        if (request.CatchUp && !request.TimedOut) // a timed-out one's round went on with another peer
        {
            lock (_gate)
            {
                if (_store.Height > request.Start)
                {
                    _attempts = 0; // progress: the next batch starts afresh
                    _tried.Clear();
                }
            }

            RequestNextBatch(); // the next batch, or this one again from another peer
        }
    }

    /// <summary>The response's blocks as envelopes when every one parses and lies in the request's range; null (refused) otherwise.</summary>
    private List<byte[]>? Validate(PeerEndpoint source, ReadOnlySpan<byte> content, in Outstanding request)
    {
        var payloads = new List<byte[]>();
        if (!ChannelMessages.TryReadStateResponse(content, payloads))
        {
            RefuseResponse(source, "malformed", "the response does not parse");
            return null;
        }

        if ((ulong)payloads.Count > request.End - request.Start + 1)
        {
            RefuseResponse(source, "out_of_range", $"it carries {payloads.Count} blocks for a request of blocks {request.Start}-{request.End}");
            return null;
        }

        var blocks = new List<byte[]>(payloads.Count);
        foreach (var payload in payloads)
        {
            var envelope = new byte[BlockCodec.WrappedSize(_channel.IdBytes, payload.Length)];
            BlockCodec.WrapPayload(envelope, _channel.IdBytes, payload);
            if (BlockCodec.TryRead(envelope, out var block) is { } error)
            {
                RefuseResponse(source, "malformed", $"a block in it is malformed: {error}");
                return null;
            }

            if (block.Sequence < request.Start || block.Sequence > request.End)
            {
                RefuseResponse(source, "out_of_range", $"it carries block {block.Sequence}, outside the requested blocks {request.Start}-{request.End}");
                return null;
            }

            blocks.Add(envelope);
        }

        return blocks;
    }

    private void RefuseResponse(PeerEndpoint source, string result, string reason)
    {
        Interlocked.Increment(ref _responsesRefused);
        ChannelMetrics.StateResponsesReceived.Add(1, ChannelMetrics.Tag("result", result));
        if (_responseLog.TryAcquire(out long suppressed))
        {
            ChannelLog.ResponseRefused(_logger, _host.PeerName, _channel.Id, source, reason, suppressed);
        }
    }

    // ---- responder ----

    /// <summary>Answers a RemoteStateRequest (field 18's content) from <paramref name="requester"/> with the blocks the archive holds in its range.</summary>
    public void OnRequest(PeerEndpoint requester, ulong nonce, ReadOnlySpan<byte> content)
    {
        if (!ChannelMessages.TryReadStateRequest(content, out ulong start, out ulong end))
        {
            RefuseRequest(requester, "malformed", "the request does not parse");
            return;
        }

        if (end < start)
        {
            RefuseRequest(requester, "bad_range", $"it asks for blocks {start}-{end}, a reversed range");
            return;
        }

        if (end - start > (ulong)_options.BatchSize)
        {
            RefuseRequest(requester, "too_large", $"it asks for blocks {start}-{end}, more than state.batchSize + 1 ({_options.BatchSize + 1}) blocks");
            return;
        }

        if (!_channel.IsChannelPeer(requester))
        {
            RefuseRequest(requester, "not_member", "the requester is not a peer of the channel (no StateInfo of it in the channel)");
            return;
        }

        var payloads = new List<byte[]>();
        var buffer = new ArrayBufferWriter<byte>(4096);
        long bytes = 0;
        ulong first = Math.Max(start, _store.OldestHeld);
        for (ulong number = first; number <= end; number++)
        {
            buffer.ResetWrittenCount();
            if (!_store.TryCopyBlock(number, buffer) || BlockCodec.TryRead(buffer.WrittenSpan, out _, out var payload) is not null)
            {
                break; // beyond the height (or evicted meanwhile): what is held in the range is sent
            }

            if (payloads.Count > 0 && bytes + payload.Length > _options.MaxResponseBytes)
            {
                break;
            }

            payloads.Add(payload.ToArray());
            bytes += payload.Length;
        }

        ChannelMetrics.StateRequestsReceived.Add(1, ChannelMetrics.Tag("result", "served"));
        if (_host.Transport.SendFrame(requester, ChannelMessages.StateResponse(_channel.IdBytes, nonce, payloads)) == SendStatus.Sent)
        {
            Interlocked.Add(ref _blocksServed, payloads.Count);
            ChannelMetrics.StateBlocksServed.Add(payloads.Count);
        }
    }

    private void RefuseRequest(PeerEndpoint source, string result, string reason)
    {
        Interlocked.Increment(ref _requestsRefused);
        ChannelMetrics.StateRequestsReceived.Add(1, ChannelMetrics.Tag("result", result));
        if (_requestLog.TryAcquire(out long suppressed))
        {
            ChannelLog.RequestRefused(_logger, _host.PeerName, _channel.Id, source, reason, suppressed);
        }
    }

    private long Elapsed(long since) => (long)_host.Time.GetElapsedTime(since).TotalMilliseconds;

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _catchingUp = false;
            _outstanding.Clear();
        }

        _tick?.Dispose();
        _timeout?.Dispose();
    }

    private readonly record struct Outstanding(ulong Nonce, PeerEndpoint Peer, ulong Start, ulong End, long Deadline, bool CatchUp, bool TimedOut = false)
    {
        /// <summary>Still awaited: before its deadline and not given up on.</summary>
        public bool Live(long now) => !TimedOut && now < Deadline;
    }
}

/// <summary>State-transfer counters of one channel at one peer.</summary>
internal readonly record struct StateTransferCounters(long CatchUpRequests, long GapRequests, long BlocksReceived, long BlocksServed, long ResponsesRefused, long RequestsRefused);
