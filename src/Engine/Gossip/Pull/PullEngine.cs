using System.Buffers;
using Engine.Diagnostics;
using Engine.Membership;
using Engine.Protocol;
using Engine.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Member = Engine.Membership.Member;

namespace Engine.Gossip.Pull;

/// <summary>
/// Fabric's pull engine, generic over the item kind (<see cref="IPullItemSource"/>). As <b>initiator</b>, every
/// <see cref="PullOptions.PullInterval"/> it sends a Hello with a fresh random nonce to <see cref="PullOptions.PeerNum"/>
/// peers drawn through its route, collects their Digests for <see cref="PullOptions.DigestWaitTime"/>, picks for each
/// missing item one random holder, sends each holder one Request carrying that holder's nonce, and accepts Updates
/// only for those nonces, only from those holders, only with requested items, until
/// <see cref="PullOptions.ResponseWaitTime"/>. As <b>responder</b> it remembers a Hello's nonce for
/// <see cref="PullOptions.RequestWaitTime"/>, answers its Hello with a Digest, and answers one Request per nonce while
/// the nonce is valid, with the items it still holds. Everything else (unknown, expired or mismatched nonce, a second
/// Digest, items never requested or already received) is dropped and counted: a Byzantine peer cannot inject data.
/// All pull messages travel as frames.
/// </summary>
/// <remarks>
/// One lock guards the engine's state (pull is a once-per-interval path, not a per-message one); the collections are
/// reused across rounds, so a round allocates only when it meets more digests than any round before.
/// </remarks>
internal sealed partial class PullEngine : IDisposable
{
    private readonly PullOptions _options;
    private readonly IPullItemSource _source;
    private readonly ITransport _transport;
    private readonly MembershipTable _members;
    private readonly GossipRoute _route;
    private readonly TimeProvider _time;
    private readonly Random _random;
    private readonly ILogger _logger;
    private readonly LogRateLimiter _dropLog;
    private readonly LogRateLimiter _sendLog;
    private readonly Lock _gate = new();
    private readonly long _requestWaitTicks;

    private ITimer? _pullTimer;
    private ITimer? _phaseTimer;
    private PeerEndpoint _self;
    private bool _disposed;

    private PullCounters _counters;

    /// <param name="options">Timings and bounds (validated).</param>
    /// <param name="source">The item kind.</param>
    /// <param name="transport">Where pull messages go (frames).</param>
    /// <param name="members">The peers Hellos are sent to are drawn from it.</param>
    /// <param name="route">Which peers qualify (org, channel, ...).</param>
    /// <param name="time">Timers and nonce expiry.</param>
    /// <param name="random">Nonces and the choice of holders (seed it for reproducible runs).</param>
    /// <param name="logger">Round and drop log lines.</param>
    public PullEngine(PullOptions options, IPullItemSource source, ITransport transport, MembershipTable members, in GossipRoute route, TimeProvider time, Random random, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(members);
        ArgumentNullException.ThrowIfNull(time);
        ArgumentNullException.ThrowIfNull(random);
        options.Validate();
        _options = options;
        _source = source;
        _transport = transport;
        _members = members;
        _route = route;
        _time = time;
        _random = random;
        _logger = logger ?? NullLogger.Instance;
        _dropLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _sendLog = new LogRateLimiter(time, TimeSpan.FromSeconds(1));
        _requestWaitTicks = (long)(options.RequestWaitTime.TotalSeconds * time.TimestampFrequency);
        _helloPeers = new PeerEndpoint[options.PeerNum];
        _helloNonces = new ulong[options.PeerNum];
        _digestReceived = new bool[options.PeerNum];
        _requestedPerHolder = new int[options.PeerNum];
        _requestSizes = new int[options.PeerNum];
        _targets = new Member[options.PeerNum];
        _remembered = new Dictionary<HelloKey, long>(Math.Min(options.MaxRememberedHellos, 16));
    }

    public PullMsgType MsgType => _source.MsgType;

    /// <summary>True while a round is collecting digests or waiting for updates.</summary>
    public bool RoundInProgress
    {
        get
        {
            lock (_gate)
            {
                return _phase != Phase.Idle;
            }
        }
    }

    /// <summary>
    /// Starts the periodic rounds, the first after a random part of one interval (memberlist's stagger): peers started
    /// together do not pull in step, so a new item meets some peer's round soon instead of every peer's round at once.
    /// </summary>
    public void Start()
    {
        lock (_gate)
        {
            _self = _transport.LocalEndpoint;
            _phaseTimer ??= _time.CreateTimer(static state => ((PullEngine)state!).OnPhaseTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
            if (_pullTimer is null)
            {
                var first = _options.PullInterval * (0.1 + (0.9 * _random.NextDouble()));
                _pullTimer = _time.CreateTimer(static state => ((PullEngine)state!).StartRound(), this, first, _options.PullInterval);
            }
        }
    }

    public PullStatistics GetStatistics()
    {
        lock (_gate)
        {
            return _counters.Snapshot();
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _disposed = true;
            _pullTimer?.Dispose();
            _phaseTimer?.Dispose();
            _pullTimer = null;
            _phaseTimer = null;
            EndRoundLocked();
        }
    }

    /// <summary>
    /// Handles an envelope if it is a pull message of this engine's kind; returns false (touching nothing) otherwise, so the
    /// caller can offer it to the next handler.
    /// </summary>
    public bool TryHandle(PeerEndpoint source, ReadOnlySpan<byte> envelope)
    {
        // A broken pull message is left to the caller (whose envelope check reports it as malformed).
        if (!PullMessage.TryParse(envelope, out var message, out _))
        {
            return false;
        }

        if (message.MsgType != _source.MsgType || !message.Channel.SequenceEqual(_source.Channel))
        {
            return false;
        }

        lock (_gate)
        {
            if (_disposed)
            {
                return true;
            }

            switch (message.Type)
            {
                case PullMessageType.Hello:
                    OnHelloLocked(source, in message);
                    break;
                case PullMessageType.Digest:
                    OnDigestLocked(source, in message);
                    break;
                case PullMessageType.Request:
                    OnRequestLocked(source, in message);
                    break;
                default:
                    OnUpdateLocked(source, in message);
                    break;
            }
        }

        return true;
    }

    private void Drop(string message, PeerEndpoint peer, string reason, ref long counter, long amount = 1)
    {
        counter += amount;
        GossipMetrics.PullDropped.Add(amount, GossipMetrics.Tag("reason", reason));
        if (_dropLog.TryAcquire(out long suppressed))
        {
            GossipLog.PullDropped(_logger, _self, _source.MsgType, message, peer, reason, suppressed);
        }
    }

    private bool SendLocked(PeerEndpoint peer, string message, ReadOnlySpan<byte> body)
    {
        var status = _transport.SendFrame(peer, body);
        if (status == SendStatus.Sent)
        {
            return true;
        }

        _counters.SendFailures++;
        if (_sendLog.TryAcquire(out long suppressed))
        {
            GossipLog.PullSendFailed(_logger, _self, _source.MsgType, message, peer, status, suppressed);
        }

        return false;
    }

    /// <summary>Writes a message whose items are the entries of <paramref name="items"/> whose value is <paramref name="selectValue"/> (all when negative), and sends it.</summary>
    private bool SendItemsLocked(PeerEndpoint peer, PullMessageType type, ulong nonce, DigestSet items, int selectValue, int itemsSize)
    {
        int size = PullMessageWriter.EnvelopeSize(type, nonce, _source.MsgType, _source.Channel, _source.Tag, itemsSize);
        var buffer = ArrayPool<byte>.Shared.Rent(size);
        try
        {
            var writer = PullMessageWriter.Begin(buffer, type, nonce, _source.MsgType, _source.Channel, _source.Tag, itemsSize);
            for (int i = 0; i < items.Count; i++)
            {
                if (selectValue < 0 || items.Value(i) == selectValue)
                {
                    writer.AddItem(items[i]);
                }
            }

            int written = writer.Finish();
            return SendLocked(peer, type.ToString(), buffer.AsSpan(0, written));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private enum Phase
    {
        Idle,
        CollectingDigests,
        AwaitingUpdates,
    }

    private readonly record struct HelloKey(PeerEndpoint Peer, ulong Nonce);

    private struct PullCounters
    {
        public long Rounds;
        public long HellosSent;
        public long DigestsReceived;
        public long RequestsSent;
        public long ItemsRequested;
        public long ItemsReceived;
        public long ItemsNotReceived;
        public long HellosAnswered;
        public long RequestsAnswered;
        public long ItemsSent;
        public long UpdatesSent;
        public long UnknownNonce;
        public long MismatchedSender;
        public long Unexpected;
        public long Unrequested;
        public long BadItems;
        public long HellosRefused;
        public long SendFailures;

        public readonly PullStatistics Snapshot() => new(
            Rounds, HellosSent, DigestsReceived, RequestsSent, ItemsRequested, ItemsReceived, ItemsNotReceived, HellosAnswered, RequestsAnswered,
            ItemsSent, UpdatesSent, UnknownNonce, MismatchedSender, Unexpected, Unrequested, BadItems, HellosRefused, SendFailures);
    }
}

/// <summary>Counters of a <see cref="PullEngine"/>. Drops: unknown or expired nonce, nonce from another peer than it was
/// sent to, a message out of phase (a second Digest, an Update before any Request), items never requested or already
/// received, items that do not parse, Hellos refused because too many are remembered.</summary>
internal sealed record PullStatistics(
    long Rounds, long HellosSent, long DigestsReceived, long RequestsSent, long ItemsRequested, long ItemsReceived, long ItemsNotReceived,
    long HellosAnswered, long RequestsAnswered, long ItemsSent, long UpdatesSent,
    long UnknownNonce, long MismatchedSender, long Unexpected, long Unrequested, long BadItems, long HellosRefused, long SendFailures);
