using System.Buffers;
using Engine.Diagnostics;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Engine.Gossip;

/// <summary>Settings of <see cref="LazyRepair"/>.</summary>
internal sealed class LazyRepairOptions
{
    /// <summary>How long an announced message may take to arrive by push before it is asked for (default 10 ms).</summary>
    public TimeSpan Grace { get; set; } = TimeSpan.FromMilliseconds(10);


    /// <summary>
    /// How long after a Want the message may take to come before it is asked of another peer that announced it too
    /// (once; default 250 ms). Without a second announcer it is asked once more of the first when replies are datagrams
    /// (<see cref="DatagramReplies"/>: the reply may have been lost), else nothing is re-asked: pull repairs.
    /// </summary>
    public TimeSpan RetryAfter { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// How long a message asked for is remembered (default 2 s): announcements of it meanwhile ask nobody again, so a
    /// slow answer under load does not turn into one copy per announcer.
    /// </summary>
    public TimeSpan ForgetAfter { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Announced messages waiting at most; more are dropped and counted, and left to pull (default 4,096).</summary>
    public int MaxWaiting { get; set; } = 4096;

    /// <summary>Digests served per Want at most; the rest are ignored and counted (default 32).</summary>
    public int MaxItemsPerWant { get; set; } = 32;

    /// <summary>
    /// Ask at once (no grace): for announcements that replace push rather than back it up (lazy block push), where
    /// nothing else is on its way.
    /// </summary>
    public bool AskAtOnce { get; set; }

    /// <summary>The message kinds announced and served.</summary>
    public LazyKinds Kinds { get; set; } = LazyKinds.AppData;

    /// <summary>
    /// Answer a Want with one datagram (default true) for the wanted messages that fit
    /// <see cref="LazyRepair.AmplificationLimit"/> times the Want's size; the rest, and everything when false, go in frames.
    /// Wants are padded so that a one-message answer fits: a hop over UDP instead of a TCP frame, which on a loaded machine
    /// may wait for a connection to open.
    /// </summary>
    public bool DatagramReplies { get; set; } = true;

    public void Validate()
    {
        if (Grace <= TimeSpan.Zero)
        {
            throw new ArgumentException($"Lazy push grace must be positive, was {Grace}.", nameof(Grace));
        }

        if (RetryAfter <= TimeSpan.Zero || ForgetAfter < RetryAfter)
        {
            throw new ArgumentException($"Lazy push retry must be positive and no longer than the memory of asked messages, was {RetryAfter} and {ForgetAfter}.", nameof(RetryAfter));
        }

        if (MaxWaiting <= 0 || MaxItemsPerWant <= 0)
        {
            throw new ArgumentException($"Lazy push bounds must be positive (waiting {MaxWaiting}, items per want {MaxItemsPerWant}).", nameof(MaxWaiting));
        }
    }
}

/// <summary>True when the message <paramref name="id"/> names is already held somewhere other than the message store.</summary>
internal delegate bool HeldElsewhere(in MessageId id);

/// <summary>
/// The receiving side of lazy push (Engine only). An <c>Announce</c> names messages a peer has just pushed elsewhere;
/// each one this peer does not hold waits <see cref="LazyRepairOptions.Grace"/> for push to bring it, and if it has
/// not come by then it is asked for with one <c>Want</c> datagram per announcer (a one-shot timer armed for the
/// earliest due announcement, so nothing runs while nothing waits). A <c>Want</c> is answered with the
/// messages still held, at most <see cref="LazyRepairOptions.MaxItemsPerWant"/> per Want and only for
/// <see cref="LazyRepairOptions.Kinds"/>: in one datagram as far as they fit <see cref="AmplificationLimit"/> times the
/// Want's own size (QUIC's rule for an unvalidated address: a forged source address gets at most three times the
/// bytes the forger sent, so wants are padded to a third of a datagram), the rest each in a frame over the framed TCP
/// stream (a connection: a forged source gains nothing there). Answers arrive as ordinary pushed messages: the
/// <see cref="Disseminator"/> de-duplicates, delivers and forwards them. What a lost Want misses, pull still repairs.
/// </summary>
/// <remarks>
/// Waiting announcements live in a fixed table (no allocation once it has grown to its high-water mark); one lock
/// guards it, taken per Announce and per tick. Thread-safe.
/// </remarks>
internal sealed class LazyRepair : IDisposable
{
    private readonly LazyRepairOptions _options;
    private readonly MessageStore _store;
    private readonly ITransport _transport;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLog;
    private readonly Lock _gate = new();
    private readonly Dictionary<ulong, int> _waitingIndex = [];
    private readonly List<Waiting> _slots = [];
    private readonly Stack<int> _free = new();
    private readonly Dictionary<PeerEndpoint, int> _wantIndex = [];
    private readonly List<WantBuilder> _wants = [];
    private readonly ArrayBufferWriter<byte> _reply = new(4096);
    private byte[] _replyDatagram = [];
    private readonly Lock _replyGate = new();
    private readonly long _graceTicks;
    private readonly long _retryTicks;
    private readonly long _forgetTicks;
    private readonly ulong _hashSeed;
    private ITimer? _timer;
    private bool _timerArmed;
    private long _armedFor;
    private PeerEndpoint _self;

    private long _announcedReceived;
    private long _alreadyHeld;
    private long _waitingDropped;
    private long _arrivedInGrace;
    private long _wanted;
    private long _retried;
    private long _wantsSent;
    private long _served;
    private long _servedByDatagram;
    private long _notHeld;
    private long _refused;
    private long _malformed;

    public LazyRepair(LazyRepairOptions options, MessageStore store, ITransport transport, TimeProvider time, Random random, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        _options = options;
        _store = store;
        _transport = transport;
        _time = time;
        _logger = logger ?? NullLogger.Instance;
        _dropLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _graceTicks = (long)(options.Grace.TotalSeconds * time.TimestampFrequency);
        _retryTicks = (long)(options.RetryAfter.TotalSeconds * time.TimestampFrequency);
        _forgetTicks = (long)(options.ForgetAfter.TotalSeconds * time.TimestampFrequency);
        _hashSeed = (ulong)random.NextInt64();
    }

    /// <summary>Announced messages waiting for their grace period to end.</summary>
    public int WaitingCount
    {
        get
        {
            lock (_gate)
            {
                return _waitingIndex.Count;
            }
        }
    }

    /// <summary>
    /// Creates the (one-shot) timer that sends Wants when announcements fall due; it is armed only while something
    /// waits, for the earliest due time, so an idle peer pays nothing.
    /// </summary>
    public void Start()
    {
        lock (_gate)
        {
            _self = _transport.LocalEndpoint;
            _timer ??= _time.CreateTimer(static state => ((LazyRepair)state!).Tick(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }
    }

    /// <summary>An Announce's content (<see cref="EnvelopeView.Content"/>) from <paramref name="source"/>.</summary>
    public void OnAnnounce(PeerEndpoint source, ReadOnlySpan<byte> content)
    {
        long now = _time.GetTimestamp();
        long due = now + _graceTicks;
        int maxBody = _options.AskAtOnce ? WantBodyLimit() : 0;
        var reader = new ProtoSpanReader(content);
        bool malformed;
        lock (_gate)
        {
            while (DigestListCodec.TryReadNext(ref reader, out var digest, out malformed))
            {
                _announcedReceived++;
                if (!MessageId.TryParseDigest(digest, out var id) || !_options.Kinds.Includes(id.Kind))
                {
                    malformed = true;
                    break;
                }

                if (HeldLocally(in id))
                {
                    _alreadyHeld++;
                    continue;
                }

                ulong key = id.IdentityHash(_hashSeed);
                if (_waitingIndex.TryGetValue(key, out int known))
                {
                    // Announced by another peer too: the first announcer is asked, this one if the first does not answer.
                    var already = _slots[known];
                    if (already.Alternate.IsEmpty && source != already.Announcer)
                    {
                        already.Alternate = source;
                    }

                    continue;
                }

                if (_waitingIndex.Count >= _options.MaxWaiting)
                {
                    _waitingDropped++;
                    GossipMetrics.LazyDropped.Add(1, GossipMetrics.Tag("reason", "waiting_full"));
                    continue;
                }

                int slot = _free.Count > 0 ? _free.Pop() : AddSlot();
                var waiting = _slots[slot];
                waiting.Key = key;
                waiting.Due = due;
                waiting.Announcer = source;
                waiting.Alternate = default;
                waiting.Retried = false;
                waiting.Asked = false;
                digest.CopyTo(waiting.Digest);
                waiting.DigestLength = digest.Length;
                _waitingIndex[key] = slot;
                if (_options.AskAtOnce)
                {
                    AskLocked(waiting, now, maxBody); // nothing else is on its way: no grace
                }

                ArmLocked(waiting.Due, now);
            }

            SendWantsLocked();
        }

        if (malformed)
        {
            Refuse(source, ref _malformed, "malformed", "an Announce does not parse, or names a kind lazy push does not carry");
        }
    }

    /// <summary>Bytes a datagram answer may have per byte of the Want that asked for it (3, as QUIC before address validation).</summary>
    public const int AmplificationLimit = 3;

    /// <summary>
    /// A Want's content from <paramref name="source"/>: the items still held are sent back, in one datagram while they fit
    /// <see cref="AmplificationLimit"/> times <paramref name="content"/>'s size, the rest in frames.
    /// </summary>
    public void OnWant(PeerEndpoint source, ReadOnlySpan<byte> content)
    {
        var reader = new ProtoSpanReader(content);
        int items = 0;
        bool malformed;
        lock (_replyGate)
        {
            int budget = _options.DatagramReplies ? Math.Min(_transport.MaxDatagramPayload, content.Length * AmplificationLimit) : 0;
            if (_replyDatagram.Length < budget)
            {
                _replyDatagram = new byte[_transport.MaxDatagramPayload];
            }

            int datagramWritten = 0, inDatagram = 0;
            while (DigestListCodec.TryReadNext(ref reader, out var digest, out malformed))
            {
                if (++items > _options.MaxItemsPerWant)
                {
                    SendReplyDatagram(source, datagramWritten, inDatagram);
                    Refuse(source, ref _refused, "too_many", $"a Want names more than {_options.MaxItemsPerWant} messages; the rest were ignored");
                    return;
                }

                if (!MessageId.TryParseDigest(digest, out var id) || !_options.Kinds.Includes(id.Kind))
                {
                    malformed = true;
                    break;
                }

                _reply.ResetWrittenCount();
                if (!_store.TryCopy(in id, _reply))
                {
                    Interlocked.Increment(ref _notHeld);
                    continue;
                }

                if (EnvelopeBatch.TryAppend(_replyDatagram.AsSpan(0, budget), ref datagramWritten, _reply.WrittenSpan))
                {
                    inDatagram++;
                    continue;
                }

                var status = _transport.SendFrame(source, _reply.WrittenSpan);
                if (status == SendStatus.Sent)
                {
                    Interlocked.Increment(ref _served);
                    GossipMetrics.LazyServed.Add(1);
                }
                else if (_dropLog.TryAcquire(out long suppressed))
                {
                    GossipLog.LazySendFailed(_logger, _self, "reply", source, status, suppressed);
                }
            }

            SendReplyDatagram(source, datagramWritten, inDatagram);
        }

        if (malformed)
        {
            Refuse(source, ref _malformed, "malformed", "a Want does not parse, or names a kind lazy push does not serve");
        }
    }

    /// <summary>Sends the datagram part of a Want's answer (caller holds the reply lock).</summary>
    private void SendReplyDatagram(PeerEndpoint source, int written, int items)
    {
        if (items == 0)
        {
            return;
        }

        var status = _transport.SendDatagram(source, _replyDatagram.AsSpan(0, written));
        if (status == SendStatus.Sent)
        {
            Interlocked.Add(ref _served, items);
            Interlocked.Add(ref _servedByDatagram, items);
            GossipMetrics.LazyServed.Add(items);
        }
        else if (_dropLog.TryAcquire(out long suppressed))
        {
            GossipLog.LazySendFailed(_logger, _self, "reply", source, status, suppressed);
        }
    }

    /// <summary>
    /// Says whether a message is held outside the message store (blocks: committed to the ledger, which keeps them after
    /// the store's byte bound evicted them); null: the store alone answers.
    /// </summary>
    public HeldElsewhere? Held { get; init; }

    private bool HeldLocally(in MessageId id) => _store.Holds(in id) || (Held is { } held && held(in id));

    /// <summary>
    /// True while <paramref name="id"/> was asked for and is still remembered (not yet arrived, not forgotten): its body is
    /// on its way, and asking for it by another path would fetch it twice.
    /// </summary>
    public bool IsAsked(in MessageId id)
    {
        ulong key = id.IdentityHash(_hashSeed);
        lock (_gate)
        {
            return _waitingIndex.TryGetValue(key, out int slot) && _slots[slot].Asked;
        }
    }

    public LazyRepairStatistics GetStatistics()
    {
        lock (_gate)
        {
            return new LazyRepairStatistics(_announcedReceived, _alreadyHeld, _waitingDropped, _arrivedInGrace, _wanted, _wantsSent,
                Interlocked.Read(ref _served), Interlocked.Read(ref _notHeld), Interlocked.Read(ref _refused), Interlocked.Read(ref _malformed))
            {
                Retried = _retried,
                ServedByDatagram = Interlocked.Read(ref _servedByDatagram),
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

    /// <summary>
    /// Asks the announcers of due, still-missing messages for them (one Want datagram per announcer), then re-arms the
    /// timer for the earliest announcement still waiting.
    /// </summary>
    internal void Tick()
    {
        long now = _time.GetTimestamp();
        lock (_gate)
        {
            _timerArmed = false;
            if (_waitingIndex.Count == 0)
            {
                return;
            }

            long earliest = long.MaxValue;
            int maxBody = WantBodyLimit();
            for (int slot = 0; slot < _slots.Count; slot++)
            {
                var waiting = _slots[slot];
                if (waiting.DigestLength == 0)
                {
                    continue;
                }

                if (waiting.Due > now)
                {
                    earliest = Math.Min(earliest, waiting.Due);
                    continue;
                }

                var digest = waiting.Digest.AsSpan(0, waiting.DigestLength);
                bool held = MessageId.TryParseDigest(digest, out var id) && HeldLocally(in id);
                if (!held && (!waiting.Asked || (!waiting.Retried && (!waiting.Alternate.IsEmpty || _options.DatagramReplies))))
                {
                    AskLocked(waiting, now, maxBody);
                    earliest = Math.Min(earliest, waiting.Due);
                    continue;
                }

                if (!held && now - waiting.AskedAt < _forgetTicks)
                {
                    // Asked, not here yet, nobody else to ask: remembered quietly until ForgetAfter (checked once more then).
                    waiting.Due = waiting.AskedAt + _forgetTicks;
                    earliest = Math.Min(earliest, waiting.Due);
                    continue;
                }

                if (held && !waiting.Asked)
                {
                    _arrivedInGrace++;
                }

                _waitingIndex.Remove(waiting.Key);
                waiting.DigestLength = 0;
                waiting.Announcer = default;
                waiting.Alternate = default;
                _free.Push(slot);
            }

            SendWantsLocked();
            if (earliest != long.MaxValue)
            {
                ArmLocked(earliest, now);
            }
        }
    }

    /// <summary>
    /// Asks for a waiting message: of its first announcer, or — asked before, unanswered within RetryAfter — once of the
    /// alternate (with datagram replies, which a lossy network may drop, once more of the first announcer when there is no
    /// alternate). The entry stays meanwhile (due again after RetryAfter), so later announcements only note an alternate.
    /// </summary>
    private void AskLocked(Waiting waiting, long now, int maxBody)
    {
        if (waiting.Asked)
        {
            waiting.Retried = true;
            waiting.Announcer = waiting.Alternate.IsEmpty ? waiting.Announcer : waiting.Alternate;
            waiting.Alternate = default;
            _retried++;
        }
        else
        {
            waiting.Asked = true;
            waiting.AskedAt = now;
            _wanted++;
        }

        AppendWant(waiting.Announcer, waiting.Digest.AsSpan(0, waiting.DigestLength), maxBody);
        waiting.Due = now + _retryTicks;
    }

    /// <summary>Sends the Wants built since the last call, one datagram per announcer (the builders are reused).</summary>
    private void SendWantsLocked()
    {
        for (int w = 0; w < _wantIndex.Count; w++)
        {
            SendWant(_wants[w]);
        }

        _wantIndex.Clear();
    }

    /// <summary>Arms the one-shot timer for <paramref name="due"/> unless it already fires sooner.</summary>
    private void ArmLocked(long due, long now)
    {
        if ((_timerArmed && _armedFor <= due) || _timer is not { } timer)
        {
            return;
        }

        _timerArmed = true;
        _armedFor = due;
        var wait = TimeSpan.FromSeconds((due - now) / (double)_time.TimestampFrequency);
        timer.Change(wait < TimeSpan.FromMilliseconds(1) ? TimeSpan.FromMilliseconds(1) : wait, Timeout.InfiniteTimeSpan);
    }

    private int WantBodyLimit() => Math.Max(0, DigestListCodec.MaxBody(EnvelopeView.WantContent, _transport.MaxDatagramPayload - 4));

    private int AddSlot()
    {
        _slots.Add(new Waiting());
        return _slots.Count - 1;
    }

    private void AppendWant(PeerEndpoint announcer, ReadOnlySpan<byte> digest, int maxBody)
    {
        if (!_wantIndex.TryGetValue(announcer, out int index))
        {
            index = _wantIndex.Count;
            if (index == _wants.Count)
            {
                _wants.Add(new WantBuilder());
            }

            _wants[index].Reset(announcer, maxBody);
            _wantIndex[announcer] = index;
        }

        var builder = _wants[index];
        if (builder.Items >= _options.MaxItemsPerWant || !DigestListCodec.AppendDigest(builder.Body, ref builder.Written, digest))
        {
            SendWant(builder);
            builder.Reset(announcer, maxBody);
            DigestListCodec.AppendDigest(builder.Body, ref builder.Written, digest);
        }

        builder.Items++;
    }

    private void SendWant(WantBuilder builder)
    {
        if (builder.Written == 0)
        {
            return;
        }

        if (_options.DatagramReplies)
        {
            // A third of a datagram: the answer may then be a full datagram (AmplificationLimit).
            DigestListCodec.Pad(builder.Body, ref builder.Written, (_transport.MaxDatagramPayload + AmplificationLimit - 1) / AmplificationLimit);
        }

        Span<byte> envelope = stackalloc byte[DigestListCodec.EnvelopeSize(EnvelopeView.WantContent, builder.Written)];
        DigestListCodec.Write(envelope, EnvelopeView.WantContent, builder.Body.AsSpan(0, builder.Written));
        int written = 0;
        EnvelopeBatch.TryAppend(builder.Datagram, ref written, envelope);
        var status = _transport.SendDatagram(builder.Announcer, builder.Datagram.AsSpan(0, written));
        builder.Written = 0;
        builder.Items = 0;
        if (status == SendStatus.Sent)
        {
            _wantsSent++;
            GossipMetrics.LazyWants.Add(1);
        }
        else if (_dropLog.TryAcquire(out long suppressed))
        {
            GossipLog.LazySendFailed(_logger, _self, "want", builder.Announcer, status, suppressed);
        }
    }

    private void Refuse(PeerEndpoint source, ref long counter, string reason, string detail)
    {
        Interlocked.Increment(ref counter);
        GossipMetrics.LazyDropped.Add(1, GossipMetrics.Tag("reason", reason));
        if (_dropLog.TryAcquire(out long suppressed))
        {
            GossipLog.LazyRefused(_logger, _self, source, detail, suppressed);
        }
    }

    private sealed class Waiting
    {
        public readonly byte[] Digest = new byte[MessageId.MaxDigestLength];
        public ulong Key;
        public long Due;
        public PeerEndpoint Announcer;
        public PeerEndpoint Alternate;
        public bool Asked;
        public long AskedAt;
        public bool Retried;
        public int DigestLength;
    }

    private sealed class WantBuilder
    {
        public PeerEndpoint Announcer;
        public byte[] Body = [];
        public byte[] Datagram = [];
        public int Written;
        public int Items;

        public void Reset(PeerEndpoint announcer, int maxBody)
        {
            Announcer = announcer;
            Written = 0;
            Items = 0;
            if (Body.Length < maxBody)
            {
                Body = new byte[maxBody];
                Datagram = new byte[maxBody + 64];
            }
        }
    }
}

/// <summary>Counters of a <see cref="LazyRepair"/>.</summary>
internal sealed record LazyRepairStatistics(
    long AnnouncedReceived, long AlreadyHeld, long WaitingDropped, long ArrivedInGrace, long Wanted, long WantsSent, long Served, long NotHeld,
    long Refused, long Malformed)
{
    /// <summary>Messages asked of a second announcer because the first one's answer had not come within the retry time.</summary>
    public long Retried { get; init; }

    /// <summary>Of <see cref="Served"/>, the messages answered in a Want's reply datagram rather than in frames.</summary>
    public long ServedByDatagram { get; init; }
}
