using Engine.Diagnostics;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Member = Engine.Membership.Member;

namespace Engine.Gossip;

/// <summary>
/// Fabric's batching push emitter. Messages wait in a bounded buffer; it is flushed when
/// <see cref="PushOptions.BurstSize"/> messages wait (on the adding thread) or every <see cref="PushOptions.BurstLatency"/>
/// (on the timer). A flush draws, per message, k random peers matching the message's <see cref="GossipRoute"/> from the
/// membership table (lock-free sampling, never the sender, never this peer), groups the copies per destination and sends
/// each destination one datagram per <see cref="ITransport.MaxDatagramPayload"/> bytes of
/// <see cref="EnvelopeBatch"/> records; a message too large for a datagram goes alone in a frame. Each message is
/// pushed in <see cref="PushOptions.Iterations"/> flushes, to fresh random peers each time. With
/// <see cref="PushOptions.FlushWhenIdle"/> a message that finds the emitter idle (no flush for a burst latency) is
/// flushed at once. With lazy push on
/// (<see cref="PushOptions.LazyPeerNum"/>), the first flush of a message also draws that many more peers of its route and
/// sends them only its digest, gathered per destination into one <c>Announce</c> record of the same datagram
/// (<see cref="LazyRepair"/> is the other side).
/// </summary>
/// <remarks>
/// The buffer is guarded by one short lock (append a record; a flush holds it while it samples and hands copies to the
/// transport, whose sends never block). Steady-state adds and flushes allocate nothing: the arena, the per-destination
/// datagram buffers and the sample array are reused.
/// </remarks>
internal sealed class PushEmitter : IDisposable
{
    private readonly PushOptions _options;
    private readonly ITransport _transport;
    private readonly MembershipTable _members;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _fullLog;
    private readonly LogRateLimiter _noPeersLog;
    private readonly LogRateLimiter _sendLog;
    private readonly Lock _gate = new();
    private readonly Member[] _targets;
    private readonly Dictionary<PeerEndpoint, int> _destinationIndex = [];
    private readonly List<Destination> _destinations = [];
    private Pending[] _pending;
    private int _pendingCount;
    private byte[] _arena;
    private int _arenaUsed;
    private byte[] _digestArena;
    private int _digestsUsed;
    private int _announceLimit;
    private int _announceLimitFor = -1;
    private int _activeDestinations;
    private ITimer? _timer;
    private bool _timerArmed;
    private PeerEndpoint _self;
    private long _lastFlush = long.MinValue / 2;
    private readonly long _burstLatencyTicks;

    private long _queued;
    private long _droppedFull;
    private long _noPeers;
    private long _flushesBySize;
    private long _flushesByTimer;
    private long _flushesWhenIdle;
    private long _copies;
    private long _datagrams;
    private long _frames;
    private long _sendFailures;
    private long _announced;

    public PushEmitter(PushOptions options, ITransport transport, MembershipTable members, TimeProvider time, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(time);
        options.Validate();
        _options = options;
        _transport = transport;
        _members = members;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _fullLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _noPeersLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _sendLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _targets = new Member[options.MaxFanout];
        _burstLatencyTicks = (long)(options.BurstLatency.TotalSeconds * time.TimestampFrequency);
        _pending = new Pending[Math.Max(options.BurstSize * 2, 16)];
        _arena = new byte[Math.Min(options.MaxPendingBytes, 4096)]; // doubles to the working size on first bursts
        _digestArena = options.LazyPeerNum > 0 ? new byte[4096] : [];
    }

    /// <summary>Messages waiting for a flush.</summary>
    public int PendingCount
    {
        get
        {
            lock (_gate)
            {
                return _pendingCount;
            }
        }
    }

    /// <summary>
    /// Starts the latency timer (call once the transport is started, so its local endpoint is known). The timer is armed
    /// only while messages wait, for one burst latency: an idle emitter costs no timer callbacks (a thousand peers in one
    /// process would otherwise take 100,000 a second).
    /// </summary>
    public void Start()
    {
        lock (_gate)
        {
            _self = _transport.LocalEndpoint;
            _timer ??= _time.CreateTimer(static state => ((PushEmitter)state!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            ArmLocked();
        }
    }

    /// <summary>
    /// Queues <paramref name="envelope"/> (copied) for <see cref="PushOptions.Iterations"/> pushes along
    /// <paramref name="route"/>. False when the buffer is full: the message is dropped and counted.
    /// </summary>
    public bool Add(ReadOnlySpan<byte> envelope, in GossipRoute route)
    {
        if (envelope.IsEmpty)
        {
            return false;
        }

        lock (_gate)
        {
            if (_arenaUsed + envelope.Length > _options.MaxPendingBytes)
            {
                _droppedFull++;
                GossipMetrics.PushDropped.Add(1, GossipMetrics.Tag("reason", "pending_full"));
                if (_fullLog.TryAcquire(out long suppressed))
                {
                    GossipLog.EmitterFull(_logger, _self, _arenaUsed, envelope.Length, suppressed);
                }

                return false;
            }

            if (_arenaUsed + envelope.Length > _arena.Length)
            {
                Array.Resize(ref _arena, Math.Min(_options.MaxPendingBytes, Math.Max(_arena.Length * 2, _arenaUsed + envelope.Length)));
            }

            if (_pendingCount == _pending.Length)
            {
                Array.Resize(ref _pending, _pending.Length * 2);
            }

            envelope.CopyTo(_arena.AsSpan(_arenaUsed));
            bool oversize = _options.AnnounceOversize && EnvelopeBatch.RecordSize(envelope.Length) > _transport.MaxDatagramPayload;
            var (digestOffset, digestLength) = _options.LazyPeerNum > 0 || oversize ? KeepDigestLocked(envelope) : (0, 0);
            _pending[_pendingCount++] = new Pending(_arenaUsed, envelope.Length, route, _options.Iterations, digestOffset, digestLength);
            _arenaUsed += envelope.Length;
            _queued++;
            if (_pendingCount >= _options.BurstSize)
            {
                _flushesBySize++;
                FlushLocked("size");
            }
            else if (oversize && digestLength > 0)
            {
                // Only its announcements go out (small datagrams): nothing to gain by waiting for the batch to fill.
                FlushLocked("oversize");
            }
            else if (_options.FlushWhenIdle && _time.GetTimestamp() - _lastFlush >= _burstLatencyTicks)
            {
                _flushesWhenIdle++;
                FlushLocked("idle");
            }

            ArmLocked();
            return true;
        }
    }

    /// <summary>Pushes everything waiting now.</summary>
    public void Flush()
    {
        lock (_gate)
        {
            if (_pendingCount > 0)
            {
                FlushLocked("explicit");
            }

            ArmLocked();
        }
    }

    public PushStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new PushStatistics(_queued, _droppedFull, _noPeers, _flushesBySize, _flushesByTimer, _copies, _datagrams, _frames, _sendFailures)
            {
                Announced = _announced,
                FlushesWhenIdle = _flushesWhenIdle,
            };
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _timer?.Dispose();
            _timer = null;
        }
    }

    private void OnTimer()
    {
        lock (_gate)
        {
            _timerArmed = false;
            if (_pendingCount > 0)
            {
                _flushesByTimer++;
                FlushLocked("timer");
            }

            ArmLocked();
        }
    }

    /// <summary>Arms the one-shot latency timer for one burst latency while messages wait and it is not armed yet.</summary>
    private void ArmLocked()
    {
        if (_pendingCount > 0 && !_timerArmed && _timer is { } timer)
        {
            _timerArmed = true;
            timer.Change(_options.BurstLatency, Timeout.InfiniteTimeSpan);
        }
    }

    private void FlushLocked(string trigger)
    {
        GossipMetrics.PushFlushes.Add(1, GossipMetrics.Tag("trigger", trigger));
        _lastFlush = _time.GetTimestamp();
        int messages = _pendingCount, copies = 0, datagrams = 0, frames = 0;
        int maxDatagram = _transport.MaxDatagramPayload;
        for (int i = 0; i < _pendingCount; i++)
        {
            ref var pending = ref _pending[i];
            var envelope = _arena.AsSpan(pending.Offset, pending.Length);
            int fanout = pending.Route.Fanout > 0 ? Math.Min(pending.Route.Fanout, _targets.Length) : Math.Min(_options.PeerNum, _targets.Length);
            var route = pending.Route;
            bool announce = pending.DigestLength > 0 && pending.IterationsLeft == _options.Iterations;
            bool fitsDatagram = EnvelopeBatch.RecordSize(envelope.Length) <= maxDatagram;

            // An oversize message with a digest (first round only) is announced to every target, not sent whole, and to
            // OversizeExtraPeers more: announcements are cheap, and a peer no announcement reaches waits for repair.
            bool announceOnly = announce && !fitsDatagram && _options.AnnounceOversize;
            int extra = announceOnly ? _options.OversizeExtraPeers : _options.LazyPeerNum;
            int lazy = announce ? Math.Min(extra, _targets.Length - fanout) : 0;
            int found = RouteSampler.Sample(_members, in route, _self, _targets.AsSpan(0, fanout + lazy));
            pending.IterationsLeft--;
            if (found == 0)
            {
                _noPeers++;
                GossipMetrics.PushDropped.Add(1, GossipMetrics.Tag("reason", "no_peers"));
                if (_noPeersLog.TryAcquire(out long suppressed))
                {
                    GossipLog.NoPeers(_logger, _self, route.Org ?? "any", suppressed);
                }

                continue;
            }

            int eager = announceOnly ? 0 : Math.Min(found, fanout);
            if (found > eager)
            {
                var digest = _digestArena.AsSpan(pending.DigestOffset, pending.DigestLength);
                for (int t = eager; t < found; t++)
                {
                    var endpoint = _targets[t].Endpoint;
                    _targets[t] = null!;
                    datagrams += AppendAnnouncement(endpoint, digest, maxDatagram);
                }

                _announced += found - eager;
            }

            for (int t = 0; t < eager; t++)
            {
                var endpoint = _targets[t].Endpoint;
                _targets[t] = null!;
                copies++;
                if (fitsDatagram)
                {
                    datagrams += AppendDatagram(endpoint, envelope, maxDatagram);
                }
                else
                {
                    frames++;
                    Send(endpoint, envelope, frame: true);
                }
            }
        }

        for (int d = 0; d < _activeDestinations; d++)
        {
            var destination = _destinations[d];
            if (destination.AnnounceWritten > 0)
            {
                datagrams += CloseAnnouncement(destination, maxDatagram);
            }

            if (destination.Written > 0)
            {
                Send(destination.Endpoint, destination.Buffer.AsSpan(0, destination.Written), frame: false);
                datagrams++;
                destination.Written = 0;
            }
        }

        _destinationIndex.Clear();
        _activeDestinations = 0;
        _copies += copies;
        _datagrams += datagrams;
        _frames += frames;
        CompactLocked();
        GossipLog.Flushed(_logger, _self, messages, trigger, copies, datagrams, frames);
    }

    /// <summary>Appends a record to the destination's datagram, sending the datagram first when full; returns datagrams sent.</summary>
    private int AppendDatagram(PeerEndpoint endpoint, ReadOnlySpan<byte> envelope, int maxDatagram)
    {
        var destination = DestinationOf(endpoint, maxDatagram);
        var body = destination.Buffer.AsSpan(0, maxDatagram);
        if (EnvelopeBatch.TryAppend(body, ref destination.Written, envelope))
        {
            return 0;
        }

        Send(endpoint, body[..destination.Written], frame: false);
        destination.Written = 0;
        EnvelopeBatch.TryAppend(body, ref destination.Written, envelope);
        return 1;
    }

    /// <summary>Adds a digest to the destination's pending Announce (closing it into the datagram first when full); returns datagrams sent.</summary>
    private int AppendAnnouncement(PeerEndpoint endpoint, ReadOnlySpan<byte> digest, int maxDatagram)
    {
        var destination = DestinationOf(endpoint, maxDatagram);
        int sent = 0;
        int maxBody = AnnounceBodyLimitLocked(maxDatagram);
        if (destination.AnnounceBuffer.Length < maxBody)
        {
            destination.AnnounceBuffer = new byte[maxBody];
        }

        var body = destination.AnnounceBuffer.AsSpan(0, maxBody);
        if (!DigestListCodec.AppendDigest(body, ref destination.AnnounceWritten, digest))
        {
            sent += CloseAnnouncement(destination, maxDatagram);
            DigestListCodec.AppendDigest(body, ref destination.AnnounceWritten, digest);
        }

        return sent;
    }

    /// <summary>Wraps the destination's digests into an Announce envelope appended to its datagram; returns datagrams sent.</summary>
    private int CloseAnnouncement(Destination destination, int maxDatagram)
    {
        int bodyLength = destination.AnnounceWritten;
        destination.AnnounceWritten = 0;
        if (bodyLength == 0)
        {
            return 0;
        }

        Span<byte> envelope = stackalloc byte[DigestListCodec.EnvelopeSize(EnvelopeView.AnnounceContent, bodyLength)];
        DigestListCodec.Write(envelope, EnvelopeView.AnnounceContent, destination.AnnounceBuffer.AsSpan(0, bodyLength));
        return AppendDatagram(destination.Endpoint, envelope, maxDatagram);
    }

    /// <summary>
    /// The Announce body that, wrapped, still fits a datagram record by itself (at most 1 KiB, so it rides along with
    /// pushed copies); computed once per datagram size, not per announced digest.
    /// </summary>
    private int AnnounceBodyLimitLocked(int maxDatagram)
    {
        if (_announceLimitFor != maxDatagram)
        {
            int envelope = Math.Min(1024, maxDatagram - 4);
            _announceLimit = Math.Max(0, DigestListCodec.MaxBody(EnvelopeView.AnnounceContent, envelope));
            _announceLimitFor = maxDatagram;
        }

        return _announceLimit;
    }

    /// <summary>Copies the digest of a message lazy push announces into the digest arena; (0, 0) when it is not announced.</summary>
    private (int Offset, int Length) KeepDigestLocked(ReadOnlySpan<byte> envelope)
    {
        if (MessageIdentity.TryRead(envelope, out var id) != IdentityError.None || !id.IsValid || !_options.LazyKinds.Includes(id.Kind))
        {
            return (0, 0);
        }

        int length = id.DigestLength;
        if (_digestsUsed + length > _digestArena.Length)
        {
            Array.Resize(ref _digestArena, Math.Max(_digestArena.Length * 2, _digestsUsed + length));
        }

        int offset = _digestsUsed;
        id.WriteDigest(_digestArena.AsSpan(offset, length));
        _digestsUsed += length;
        return (offset, length);
    }

    private Destination DestinationOf(PeerEndpoint endpoint, int maxDatagram)
    {
        if (!_destinationIndex.TryGetValue(endpoint, out int index))
        {
            index = _activeDestinations++;
            if (index == _destinations.Count)
            {
                _destinations.Add(new Destination());
            }

            var fresh = _destinations[index];
            fresh.Endpoint = endpoint;
            fresh.Written = 0;
            if (fresh.Buffer.Length < maxDatagram)
            {
                fresh.Buffer = new byte[maxDatagram];
            }

            fresh.AnnounceWritten = 0;
            _destinationIndex[endpoint] = index;
        }

        return _destinations[index];
    }

    private void Send(PeerEndpoint endpoint, ReadOnlySpan<byte> body, bool frame)
    {
        var status = frame ? _transport.SendFrame(endpoint, body) : _transport.SendDatagram(endpoint, body);
        if (status == SendStatus.Sent)
        {
            GossipMetrics.PushTransmissions.Add(1, GossipMetrics.Tag("via", frame ? "frame" : "datagram"));
            return;
        }

        _sendFailures++;
        GossipMetrics.PushDropped.Add(1, GossipMetrics.Tag("reason", "send_failed"));
        if (_sendLog.TryAcquire(out long suppressed))
        {
            GossipLog.SendFailed(_logger, _self, endpoint, status, suppressed);
        }
    }

    /// <summary>Keeps the messages with pushes left, moving their bytes to the front of the arena (digests are only needed in the first round).</summary>
    private void CompactLocked()
    {
        _digestsUsed = 0;
        int kept = 0, used = 0;
        for (int i = 0; i < _pendingCount; i++)
        {
            var pending = _pending[i];
            if (pending.IterationsLeft <= 0)
            {
                continue;
            }

            if (pending.Offset != used)
            {
                _arena.AsSpan(pending.Offset, pending.Length).CopyTo(_arena.AsSpan(used));
            }

            _pending[kept++] = pending with { Offset = used, DigestOffset = 0, DigestLength = 0 };
            used += pending.Length;
        }

        Array.Clear(_pending, kept, _pendingCount - kept); // drop route references
        _pendingCount = kept;
        _arenaUsed = used;
    }

    private record struct Pending(int Offset, int Length, GossipRoute Route, int IterationsLeft, int DigestOffset, int DigestLength);

    private sealed class Destination
    {
        public PeerEndpoint Endpoint;
        public byte[] Buffer = [];
        public int Written;
        public byte[] AnnounceBuffer = [];
        public int AnnounceWritten;
    }
}

/// <summary>Counters of a <see cref="PushEmitter"/>.</summary>
internal sealed record PushStatistics(
    long Queued, long DroppedFull, long NoPeers, long FlushesBySize, long FlushesByTimer, long Copies, long Datagrams, long Frames, long SendFailures)
{
    /// <summary>Digests announced by lazy push (one per message and lazy peer).</summary>
    public long Announced { get; init; }

    /// <summary>Flushes made at once because the emitter was idle (<see cref="PushOptions.FlushWhenIdle"/>).</summary>
    public long FlushesWhenIdle { get; init; }
}
